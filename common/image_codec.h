// Decoding JPEG and PNG files into 8-bit pixels, exactly the pixels PIL 9.4
// (Debian's python3-pil) gives for Image.open(path).convert("RGB") or
// .convert("L"), so an image-folder dataset feeds a model what torchvision's
// PIL pipeline fed it in training.
//
// JPEG goes through libjpeg-turbo, the library PIL itself links, with PIL's
// settings (libjpeg's defaults: accurate integer IDCT, smooth chroma
// upsampling); PNG through libpng (lossless, so only the conversions below
// decide the pixels). The format is recognised by its signature, never by
// the file's extension. What each stored form becomes, as PIL converts it:
//   * grey (JPEG or PNG; PNG 1, 2 and 4 bits scaled to 0..255, 0x55 per step
//     at 2 bits): L as stored; RGB repeats it in all three channels;
//   * RGB: RGB as stored; L is ITU-R 601-2 luma in PIL's integer arithmetic,
//     (19595 R + 38470 G + 7471 B + 32768) >> 16 (the weights 0.299, 0.587,
//     0.114 in 16-bit fixed point; checked against PIL on all 2^24 colours);
//   * an alpha channel (PNG grey+alpha, RGBA) is dropped, not composited;
//     tRNS transparency is ignored;
//   * palette (PNG, 1 to 8 bits): each index becomes its PLTE colour; an index
//     past the PLTE's entries becomes grey (i, i, i), as in PIL's palette;
//   * 16-bit PNG: RGB, RGBA and grey+alpha keep each sample's high byte
//     (PIL's truncation); 16-bit grey, which PIL opens as 32-bit integers
//     (mode "I"), is clipped to 0..255, not scaled: 300 becomes 255, so a
//     real 16-bit photo comes out mostly white. That is PIL's answer, kept
//     so a model sees what it saw;
//   * interlaced PNG and progressive JPEG decode like the others.
// CMYK and YCCK JPEGs are refused (Unimplemented).
//
// Errors are values whose message starts with the file's name:
//   NotFound            the file does not exist;
//   FailedPrecondition  it cannot be opened or read (permissions);
//   InvalidArgument     a folder; not a JPEG or PNG (by the signature);
//                       more than kMaxImagePixels pixels (or the caller's
//                       lower max_pixels), refused from the
//                       header before the pixels are allocated, naming the
//                       dimensions; a file over kMaxImageFileBytes
//                       (both in common/resource_limits.h);
//   DataLoss            an empty file, a truncated one (a JPEG without its
//                       end, a PNG whose image data stops early; PIL refuses
//                       both too), or data the decoder rejects, a side of 0
//                       among them;
//   Unimplemented       a JPEG colour space other than grey, YCbCr or RGB.
// libjpeg's warnings about damaged data it can repair are ignored, as PIL
// ignores them; its warning that the data ended early is an error. A PNG
// missing only what follows its image data (IEND) decodes, as in PIL.
//
// Thread-safe: every call has its own decoder state.
#ifndef MIXQ_COMMON_IMAGE_CODEC_H_
#define MIXQ_COMMON_IMAGE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/resource_limits.h"
#include "common/status.h"

namespace mixq {

// 8-bit pixels, rows top to bottom, channels interleaved (HWC).
struct Image {
  int64_t height = 0, width = 0, channels = 0;  // channels: 1 (grey) or 3 (RGB)
  std::vector<uint8_t> pixels;                  // height * width * channels
};

enum class ColorMode { kRgb, kGray };

// Decodes a JPEG or PNG (recognised by signature, not by file extension)
// into `mode`: 3 channels for kRgb, 1 for kGray.
StatusOr<Image> DecodeImageFile(const std::string& path, ColorMode mode);

// The same from bytes in memory; `name` (a path, or any label) starts every
// error message. `max_pixels` lowers the limit on the pixels a header may
// declare (a value above kMaxImagePixels is held to it), for a caller with
// less memory or time to give one image: the image_decode fuzz target, where
// a corrupt 8192 x 8192 JPEG decodes, filled in grey, in seconds.
StatusOr<Image> DecodeImage(const uint8_t* data, size_t size, const std::string& name,
                            ColorMode mode, int64_t max_pixels = kMaxImagePixels);

}  // namespace mixq

#endif  // MIXQ_COMMON_IMAGE_CODEC_H_
