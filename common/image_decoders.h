// The format adapters behind common/image_codec.h, one per library; callers
// use DecodeImage, which picks one by signature and converts to the colour
// mode asked for. Each adapter keeps its library's errors inside it (libjpeg
// and libpng report errors by longjmp; see the .cc files) and returns them
// as values whose message starts with `name`.
#ifndef MIXQ_COMMON_IMAGE_DECODERS_H_
#define MIXQ_COMMON_IMAGE_DECODERS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/image_codec.h"
#include "common/resource_limits.h"
#include "common/status.h"

namespace mixq {

// A JPEG (jpeg_decoder.cc) in its stored colours: 1 channel for a grey JPEG,
// 3 (RGB) for YCbCr or RGB. `data` starts with the JPEG signature. Refuses a
// header declaring more than `max_pixels` (CheckImageDimensions).
StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const std::string& name,
                           int64_t max_pixels);

// A PNG (png_decoder.cc) as PIL reads it, before its conversion to L or RGB:
// 1 channel for grey (16-bit clipped to 0..255), 3 for RGB and palette
// (expanded), alpha dropped. `data` starts with the PNG signature. Refuses a
// header declaring more than `max_pixels` (CheckImageDimensions).
StatusOr<Image> DecodePng(const uint8_t* data, size_t size, const std::string& name,
                          int64_t max_pixels);

// OK if a `height` x `width` image may be decoded: both sides > 0 and at most
// `max_pixels` pixels (> 0; DecodeImage holds it to kMaxImagePixels,
// common/resource_limits.h). Else InvalidArgument naming the file, its
// dimensions and the limit. The adapters call it on the header's
// dimensions, before allocating for the pixels.
Status CheckImageDimensions(const std::string& name, int64_t height, int64_t width,
                            int64_t max_pixels = kMaxImagePixels);

}  // namespace mixq

#endif  // MIXQ_COMMON_IMAGE_DECODERS_H_
