// FP32 3x3 stride-1 convolution by Winograd's minimal filtering F(m x m, 3x3)
// (Lavin & Gray, 2016): each m x m output tile costs (m+2)^2 multiplies per
// channel pair instead of 9 m^2, so F(4x4, 3x3) needs 4x fewer multiplies
// than the direct convolution. oneDNN 2.6 offers Winograd only on AVX-512,
// and on AVX2 its direct kernels already run near the FMA peak, so fewer
// multiplies is the way left to speed up these layers there.
//
// The work is split into chunks of tiles; each OpenMP thread takes a chunk
// and keeps it in its own part of the scratch through all three stages, so the
// transformed tiles stay in cache: input transform V = B^T d B, one GEMM per
// tile position (oneDNN's sgemm, single-threaded inside the parallel region),
// inverse transform Y = A^T M A with bias, residual sum and activation
// fused (Epilogue). Weights are transformed once, when the kernel is made.
//
// Tensors may be in any layout whose channels are contiguous in groups of 8
// or more (nChw8c, nChw16c, nhwc): the kernel reads and writes the layout of
// the neighbouring oneDNN primitives, so choosing it adds no reorders.
#ifndef MIXQ_ENGINE_RUNTIME_LOWER_WINOGRAD_CONV_H_
#define MIXQ_ENGINE_RUNTIME_LOWER_WINOGRAD_CONV_H_

#include <cstdint>
#include <dnnl.hpp>
#include <limits>
#include <memory>
#include <vector>

#include "common/status.h"

namespace mixq {

// Where element (n, c, h, w) lives: n * n_stride + (c / block) * block_stride
// + h * h_stride + w * w_stride + c % block, in floats.
struct ChannelBlockedLayout {
  int64_t block = 0;
  int64_t n_stride = 0, block_stride = 0, h_stride = 0, w_stride = 0;
};

// The layout of `desc` (4-D f32) when its channels are contiguous in blocks
// that are a multiple of 8 and the channel count fills whole blocks; an
// error naming the reason otherwise.
StatusOr<ChannelBlockedLayout> ChannelBlockedLayoutOf(const dnnl::memory::desc& desc);

// What happens to a convolution result y (bias added) before it is stored:
// with add_destination, y += the destination's value (a fused residual sum:
// the destination holds the residual); then y = (y < 0 ? negative_slope * y
// : y), clamped to [low, high]: ReLU, LeakyReLU, Clip (ReLU6), the identity.
struct Epilogue {
  bool add_destination = false;
  float negative_slope = 1.f;
  float low = -std::numeric_limits<float>::infinity();
  float high = std::numeric_limits<float>::infinity();
};

struct WinogradConvShape {
  int64_t batch = 0, in_channels = 0, height = 0, width = 0;
  int64_t out_channels = 0, out_height = 0, out_width = 0;
  int64_t pad_top = 0, pad_left = 0;
};

class WinogradConv {
 public:
  // `tile` is m, 2 or 4. `weights` are OIHW 3x3, `bias` out_channels floats
  // or nullptr. `threads`: the most OpenMP threads Run() will use (scratch is
  // allocated for that many now).
  static StatusOr<std::unique_ptr<WinogradConv>> Create(const WinogradConvShape& shape, int tile,
                                                        const float* weights, const float* bias,
                                                        const Epilogue& epilogue,
                                                        const ChannelBlockedLayout& src,
                                                        const ChannelBlockedLayout& dst,
                                                        int threads);

  // Computes the convolution of `src` into `dst` (the layouts given at
  // creation), using `scratch` (scratch_floats() floats) for the transformed
  // tiles. Allocates nothing itself; oneDNN's sgemm mallocs its packing
  // workspace (about 16 KiB) per call, as oneDNN's GEMM-based primitives do,
  // and oneDNN 2.6 offers no GEMM that takes it from the caller.
  Status Run(const float* src, float* dst, float* scratch) const;
  size_t scratch_floats() const { return static_cast<size_t>(scratch_per_thread_ * threads_); }

  // The tiles each thread takes at a time (Run()'s unit of work), known
  // before the weights are transformed.
  static int64_t TilesPerChunk(const WinogradConvShape& shape, int tile, int threads);

 private:
  WinogradConv() = default;
  // Image and first output row and column of tile number `tile`.
  struct TileOrigin {
    int64_t n, y, x;
  };
  TileOrigin OriginOf(int64_t tile) const;
  template <int M>
  Status RunTiled(const float* src, float* dst, float* scratch) const;
  template <int M>
  void InputTransform(const float* src, int64_t first_tile, int64_t count, float* v) const;
  template <int M>
  void OutputTransform(const float* m, int64_t first_tile, int64_t count, float* dst) const;

  WinogradConvShape shape_;
  int tile_ = 4;
  int64_t tiles_h_ = 0, tiles_w_ = 0, tiles_ = 0;
  int64_t chunk_tiles_ = 0;
  int threads_ = 1;
  Epilogue epilogue_;
  ChannelBlockedLayout src_layout_, dst_layout_;
  std::vector<float> transformed_weights_;  // [alpha^2][in_channels][out_channels]
  std::vector<float> bias_;                 // out_channels (zeros when absent)
  int64_t scratch_per_thread_ = 0;          // V then M of one chunk
};

}  // namespace mixq

#endif  // MIXQ_ENGINE_RUNTIME_LOWER_WINOGRAD_CONV_H_
