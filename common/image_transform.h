// The geometric steps of torchvision's classic evaluation transform
// (Resize(size) then CenterCrop(crop)) on decoded images (common/image_codec.h),
// giving the same 8-bit pixels PIL 9.4 gives, so that a model evaluated here
// sees what it saw in PyTorch.
//
// Resizing is PIL's separable convolution: a horizontal pass over every row
// into an 8-bit intermediate image, then a vertical pass over its columns.
// Output sample i of a pass of in -> out samples is centred at
// (i + 0.5) * in / out in input coordinates; the filter (triangle of radius 1
// for bilinear, Keys' cubic with a = -0.5 and radius 2 for bicubic) is
// stretched by max(1, in / out), so shrinking averages over every input
// sample it covers (antialiasing) instead of skipping some. The weights of
// each output sample are normalised to sum to 1 and rounded to 22-bit fixed
// point; a sum starts at one half and is shifted back and clipped to 0..255.
// A pass whose size does not change is skipped. Nearest takes input sample
// floor((i + 0.5) * in / out), the position summed step by step in doubles
// as PIL sums it (which decides exact ties). All three match PIL bit for bit
// (tests/common/image_transform_test.cc compares against PIL's own output).
//
// The functions are pure and thread-safe. Callers validate sizes: every
// height, width and size passed must be > 0 (an image from DecodeImage
// always has both sides > 0); the functions assert it and do not check
// limits again: an output has at most as many pixels as the caller asks for.
#ifndef MIXQ_COMMON_IMAGE_TRANSFORM_H_
#define MIXQ_COMMON_IMAGE_TRANSFORM_H_

#include <cstdint>
#include <utility>

#include "common/image_codec.h"

namespace mixq {

enum class Interpolation { kNearest, kBilinear, kBicubic };

// PIL's Image.resize(size=(width, height), resample=...) with reducing_gap
// None, as torchvision's Resize calls it on PIL images: antialiased for
// bilinear and bicubic when shrinking. Keeps src.channels.
Image ResizeImage(const Image& src, int64_t height, int64_t width, Interpolation how);

// torchvision transforms.Resize(size) with an int on an (h, w) image: the
// shorter side becomes `size`, the longer int(size * long / short) (truncated,
// as Python's int() does). Returns {height, width}. A square image gives
// {size, size}. size * max(height, width) must fit in 2^53 (callers' limits
// keep it far below).
std::pair<int64_t, int64_t> ShorterSideSize(int64_t height, int64_t width, int64_t size);

// torchvision transforms.CenterCrop((height, width)): top =
// int(round((h - height) / 2.0)) with Python's round (halves go to the even
// neighbour: a difference of 1 gives 0, of 3 gives 2), left likewise. Where
// the image is smaller than the crop it is first padded with zeros, (d // 2)
// before and (d + 1) // 2 after, as torchvision does. Keeps src.channels.
Image CenterCrop(const Image& src, int64_t height, int64_t width);

}  // namespace mixq

#endif  // MIXQ_COMMON_IMAGE_TRANSFORM_H_
