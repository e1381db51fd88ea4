#include "engine/runtime/lower/winograd_conv.h"

#include <dnnl.h>
#include <omp.h>
#include <xmmintrin.h>

#include <algorithm>
#include <atomic>
#include <string>

namespace mixq {

namespace {

// Eight channels are processed together: one AVX2 vector, two SSE ones.
constexpr int kLanes = 8;

// The transform matrices of F(m x m, 3x3) with interpolation points
// 0, 1, -1 (m = 2) and 0, 1, -1, 2, -2 (m = 4), from Lavin & Gray.
template <int M>
struct Transforms;

template <>
struct Transforms<2> {
  static constexpr int kAlpha = 4;
  static constexpr float kBt[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr double kG[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  static constexpr float kAt[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
};

template <>
struct Transforms<4> {
  static constexpr int kAlpha = 6;
  static constexpr float kBt[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                      {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                      {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  static constexpr double kG[6][3] = {{1.0 / 4, 0, 0},
                                      {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                      {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                      {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                      {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                      {0, 0, 1}};
  static constexpr float kAt[4][6] = {
      {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
};

// out[l] = sum over k of coef[k] * in[k][l] for the 8 lanes, skipping zero
// coefficients. Called with compile-time coefficient rows, the loop unrolls
// and the zero terms and unit factors fold away. SSE (the x86-64 baseline)
// so that any x86-64 CPU runs it; these transforms are memory-bound.
template <int K, int Stride>
inline void Combine(const float (&coef)[K], const float* in, float* out) {
  __m128 lo = _mm_setzero_ps(), hi = _mm_setzero_ps();
  bool first = true;
#pragma GCC unroll 8
  for (int k = 0; k < K; ++k) {
    const float c = coef[k];
    if (c == 0.f) continue;
    const float* row = in + k * Stride;
    __m128 a = _mm_loadu_ps(row), b = _mm_loadu_ps(row + 4);
    if (c == -1.f) {
      a = _mm_sub_ps(_mm_setzero_ps(), a);
      b = _mm_sub_ps(_mm_setzero_ps(), b);
    } else if (c != 1.f) {
      const __m128 cv = _mm_set1_ps(c);
      a = _mm_mul_ps(a, cv);
      b = _mm_mul_ps(b, cv);
    }
    if (first) {
      lo = a;
      hi = b;
      first = false;
    } else {
      lo = _mm_add_ps(lo, a);
      hi = _mm_add_ps(hi, b);
    }
  }
  _mm_storeu_ps(out, lo);
  _mm_storeu_ps(out + 4, hi);
}

// Bias, the residual when there is one, the activation, then the store of
// 8 lanes.
inline void Finish(const float* y, const float* bias, const Epilogue& e, float* out) {
  const __m128 zero = _mm_setzero_ps(), slope = _mm_set1_ps(e.negative_slope);
  const __m128 low = _mm_set1_ps(e.low), high = _mm_set1_ps(e.high);
  for (int half = 0; half < 2; ++half) {
    __m128 v = _mm_add_ps(_mm_loadu_ps(y + 4 * half), _mm_loadu_ps(bias + 4 * half));
    if (e.add_destination) v = _mm_add_ps(v, _mm_loadu_ps(out + 4 * half));
    const __m128 leaky = _mm_add_ps(_mm_max_ps(v, zero), _mm_mul_ps(slope, _mm_min_ps(v, zero)));
    _mm_storeu_ps(out + 4 * half, _mm_min_ps(_mm_max_ps(leaky, low), high));
  }
}

Status CheckShape(const WinogradConvShape& s, int tile) {
  if (tile != 2 && tile != 4) return InvalidArgument("Winograd tile must be 2 or 4");
  if (s.batch < 1 || s.height < 1 || s.width < 1 || s.out_height < 1 || s.out_width < 1) {
    return InvalidArgument("Winograd convolution of an empty tensor");
  }
  if (s.in_channels % kLanes != 0 || s.out_channels % kLanes != 0 || s.in_channels < 1 ||
      s.out_channels < 1) {
    return InvalidArgument("Winograd convolution needs channel counts that are multiples of 8");
  }
  // Output pixel (y, x) reads input rows y - pad_top .. y - pad_top + 2; rows
  // outside the input are the zero padding.
  if (s.pad_top < 0 || s.pad_left < 0 || s.pad_top > 2 || s.pad_left > 2) {
    return InvalidArgument("Winograd convolution needs pads of 0 to 2");
  }
  if (s.out_height + 2 - s.pad_top > s.height + 2 || s.out_width + 2 - s.pad_left > s.width + 2) {
    return InvalidArgument("Winograd convolution output larger than a padded 3x3 convolution's");
  }
  return Status::Ok();
}

Status CheckLayout(const ChannelBlockedLayout& layout, int64_t channels, const char* which) {
  if (layout.block < kLanes || layout.block % kLanes != 0 || channels % layout.block != 0) {
    return InvalidArgument(std::string("Winograd convolution: ") + which +
                           " channels are not contiguous in blocks of a multiple of 8");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ChannelBlockedLayout> ChannelBlockedLayoutOf(const dnnl::memory::desc& desc) {
  const dnnl_memory_desc_t& d = desc.data;
  if (d.ndims != 4 || d.data_type != dnnl_f32 || d.format_kind != dnnl_blocked) {
    return InvalidArgument("not a 4-D f32 blocked tensor");
  }
  for (int i = 0; i < 4; ++i) {
    if (d.padded_dims[i] != d.dims[i] || d.padded_offsets[i] != 0) {
      return InvalidArgument("padded tensor");
    }
  }
  if (d.offset0 != 0) return InvalidArgument("tensor with an offset");
  const dnnl_blocking_desc_t& b = d.format_desc.blocking;
  ChannelBlockedLayout layout;
  if (b.inner_nblks == 1 && b.inner_idxs[0] == 1) {
    layout.block = b.inner_blks[0];
  } else if (b.inner_nblks == 0 && b.strides[1] == 1) {
    layout.block = d.dims[1];  // channels last: one block of all channels
  } else {
    return InvalidArgument("channels are not innermost");
  }
  layout.n_stride = b.strides[0];
  layout.block_stride = b.strides[1];
  layout.h_stride = b.strides[2];
  layout.w_stride = b.strides[3];
  return layout;
}

int64_t WinogradConv::TilesPerChunk(const WinogradConvShape& shape, int tile, int threads) {
  const int64_t alpha = tile + 2;
  const int64_t tiles =
      shape.batch * ((shape.out_height + tile - 1) / tile) * ((shape.out_width + tile - 1) / tile);
  // A chunk's transformed tiles and GEMM results should stay in the core's
  // cache: about 1 MiB of scratch per thread, at least 16 tiles so that the
  // GEMMs are not too thin, and no more than a fair share of the tiles so
  // that every thread has work.
  const int64_t bytes_per_tile = alpha * alpha * (shape.in_channels + shape.out_channels) * 4;
  const int64_t fair_share = (tiles + std::max(1, threads) - 1) / std::max(1, threads);
  return std::max<int64_t>(
      1, std::min(fair_share,
                  std::max<int64_t>(16, (1 << 20) / std::max<int64_t>(1, bytes_per_tile))));
}

StatusOr<std::unique_ptr<WinogradConv>> WinogradConv::Create(
    const WinogradConvShape& shape, int tile, const float* weights, const float* bias,
    const Epilogue& epilogue, const ChannelBlockedLayout& src, const ChannelBlockedLayout& dst,
    int threads) {
  MIXQ_RETURN_IF_ERROR(CheckShape(shape, tile));
  MIXQ_RETURN_IF_ERROR(CheckLayout(src, shape.in_channels, "source"));
  MIXQ_RETURN_IF_ERROR(CheckLayout(dst, shape.out_channels, "destination"));
  std::unique_ptr<WinogradConv> conv(new WinogradConv());
  conv->shape_ = shape;
  conv->tile_ = tile;
  conv->epilogue_ = epilogue;
  conv->src_layout_ = src;
  conv->dst_layout_ = dst;
  conv->threads_ = std::max(1, threads);
  conv->tiles_h_ = (shape.out_height + tile - 1) / tile;
  conv->tiles_w_ = (shape.out_width + tile - 1) / tile;
  conv->tiles_ = shape.batch * conv->tiles_h_ * conv->tiles_w_;
  conv->chunk_tiles_ = TilesPerChunk(shape, tile, threads);

  const int alpha = tile + 2;
  const int64_t ic = shape.in_channels, oc = shape.out_channels;
  conv->scratch_per_thread_ = int64_t{alpha} * alpha * conv->chunk_tiles_ * (ic + oc);

  // U[xi][c][k] = (G g G^T)[xi] for the 3x3 kernel g of output k, input c;
  // k innermost so that each of the alpha^2 planes is written in order.
  double g_matrix[6][3] = {};
  for (int a = 0; a < alpha; ++a) {
    for (int i = 0; i < 3; ++i) {
      g_matrix[a][i] = tile == 2 ? Transforms<2>::kG[a][i] : Transforms<4>::kG[a][i];
    }
  }
  conv->transformed_weights_.assign(static_cast<size_t>(alpha * alpha * ic * oc), 0.f);
  float* u = conv->transformed_weights_.data();
#pragma omp parallel for
  for (int64_t c = 0; c < ic; ++c) {
    for (int64_t k = 0; k < oc; ++k) {
      const float* g = weights + (k * ic + c) * 9;
      double gg[6][3] = {};  // G g
      for (int a = 0; a < alpha; ++a) {
        for (int j = 0; j < 3; ++j) {
          for (int i = 0; i < 3; ++i) gg[a][j] += g_matrix[a][i] * g[i * 3 + j];
        }
      }
      for (int a = 0; a < alpha; ++a) {
        for (int b = 0; b < alpha; ++b) {
          double value = 0;
          for (int j = 0; j < 3; ++j) value += gg[a][j] * g_matrix[b][j];
          u[((a * alpha + b) * ic + c) * oc + k] = static_cast<float>(value);
        }
      }
    }
  }
  conv->bias_.assign(static_cast<size_t>(oc), 0.f);
  if (bias != nullptr) std::copy(bias, bias + oc, conv->bias_.begin());
  return conv;
}

WinogradConv::TileOrigin WinogradConv::OriginOf(int64_t tile) const {
  const int64_t per_image = tiles_h_ * tiles_w_;
  const int64_t r = tile % per_image;
  return {tile / per_image, (r / tiles_w_) * tile_, (r % tiles_w_) * tile_};
}

template <int M>
void WinogradConv::InputTransform(const float* src, int64_t first_tile, int64_t count,
                                  float* v) const {
  constexpr int A = Transforms<M>::kAlpha;
  const int64_t ic = shape_.in_channels;
  const ChannelBlockedLayout& lay = src_layout_;
  for (int64_t i = 0; i < count; ++i) {
    const TileOrigin o = OriginOf(first_tile + i);
    const int64_t n = o.n;
    const int64_t y0 = o.y - shape_.pad_top;
    const int64_t x0 = o.x - shape_.pad_left;
    bool row_in[A], col_in[A];
    for (int a = 0; a < A; ++a) {
      row_in[a] = y0 + a >= 0 && y0 + a < shape_.height;
      col_in[a] = x0 + a >= 0 && x0 + a < shape_.width;
    }
    for (int64_t c0 = 0; c0 < ic; c0 += kLanes) {
      // An offset, not a pointer: the tile's origin may lie in the padding.
      const int64_t base = n * lay.n_stride + (c0 / lay.block) * lay.block_stride + c0 % lay.block +
                           y0 * lay.h_stride + x0 * lay.w_stride;
      alignas(32) float d[A][A][kLanes];
      for (int a = 0; a < A; ++a) {
        for (int b = 0; b < A; ++b) {
          if (row_in[a] && col_in[b]) {
            const float* p = src + base + a * lay.h_stride + b * lay.w_stride;
            for (int l = 0; l < kLanes; ++l) d[a][b][l] = p[l];
          } else {
            for (int l = 0; l < kLanes; ++l) d[a][b][l] = 0.f;
          }
        }
      }
      // tmp = B^T d, then V = tmp B (B's columns are B^T's rows).
      alignas(32) float tmp[A][A][kLanes];
#pragma GCC unroll 8
      for (int a = 0; a < A; ++a) {
        for (int b = 0; b < A; ++b) {
          Combine<A, A * kLanes>(Transforms<M>::kBt[a], &d[0][b][0], tmp[a][b]);
        }
      }
#pragma GCC unroll 8
      for (int a = 0; a < A; ++a) {
#pragma GCC unroll 8
        for (int b = 0; b < A; ++b) {
          float* out = v + ((a * A + b) * chunk_tiles_ + i) * ic + c0;
          Combine<A, kLanes>(Transforms<M>::kBt[b], &tmp[a][0][0], out);
        }
      }
    }
  }
}

template <int M>
void WinogradConv::OutputTransform(const float* m, int64_t first_tile, int64_t count,
                                   float* dst) const {
  constexpr int A = Transforms<M>::kAlpha;
  const int64_t oc = shape_.out_channels;
  const ChannelBlockedLayout& lay = dst_layout_;
  for (int64_t i = 0; i < count; ++i) {
    const TileOrigin o = OriginOf(first_tile + i);
    const int64_t n = o.n, y0 = o.y, x0 = o.x;
    const int rows = static_cast<int>(std::min<int64_t>(M, shape_.out_height - y0));
    const int cols = static_cast<int>(std::min<int64_t>(M, shape_.out_width - x0));
    for (int64_t k0 = 0; k0 < oc; k0 += kLanes) {
      alignas(32) float mm[A][A][kLanes];
      for (int a = 0; a < A; ++a) {
        for (int b = 0; b < A; ++b) {
          const float* p = m + ((a * A + b) * chunk_tiles_ + i) * oc + k0;
          for (int l = 0; l < kLanes; ++l) mm[a][b][l] = p[l];
        }
      }
      // tmp = A^T mm, then Y = tmp A.
      alignas(32) float tmp[M][A][kLanes];
#pragma GCC unroll 8
      for (int p = 0; p < M; ++p) {
        for (int b = 0; b < A; ++b) {
          Combine<A, A * kLanes>(Transforms<M>::kAt[p], &mm[0][b][0], tmp[p][b]);
        }
      }
      // Every tile's M x M outputs are computed with constant loop bounds
      // (so that the transform unrolls); only the stores are bounded.
      alignas(32) float y[M][M][kLanes];
#pragma GCC unroll 8
      for (int p = 0; p < M; ++p) {
#pragma GCC unroll 8
        for (int q = 0; q < M; ++q) {
          Combine<A, kLanes>(Transforms<M>::kAt[q], &tmp[p][0][0], y[p][q]);
        }
      }
      float* base = dst + n * lay.n_stride + (k0 / lay.block) * lay.block_stride + k0 % lay.block +
                    y0 * lay.h_stride + x0 * lay.w_stride;
      const float* bias = bias_.data() + k0;
      for (int p = 0; p < rows; ++p) {
        for (int q = 0; q < cols; ++q) {
          Finish(y[p][q], bias, epilogue_, base + p * lay.h_stride + q * lay.w_stride);
        }
      }
    }
  }
}

template <int M>
Status WinogradConv::RunTiled(const float* src, float* dst, float* scratch) const {
  constexpr int A = Transforms<M>::kAlpha;
  const int64_t ic = shape_.in_channels, oc = shape_.out_channels;
  const int64_t chunks = (tiles_ + chunk_tiles_ - 1) / chunk_tiles_;
  const int threads = std::max(1, std::min(threads_, omp_get_max_threads()));
  const float* u = transformed_weights_.data();
  std::atomic<bool> gemm_failed{false};
#pragma omp parallel num_threads(threads)
  {
    float* v = scratch + omp_get_thread_num() * scratch_per_thread_;
    float* m = v + A * A * chunk_tiles_ * ic;
#pragma omp for schedule(dynamic, 1)
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      const int64_t first = chunk * chunk_tiles_;
      const int64_t count = std::min(chunk_tiles_, tiles_ - first);
      InputTransform<M>(src, first, count, v);
      // oneDNN's sgemm runs on the calling thread inside a parallel region.
      for (int xi = 0; xi < A * A; ++xi) {
        if (dnnl_sgemm('N', 'N', count, oc, ic, 1.f, v + xi * chunk_tiles_ * ic, ic,
                       u + xi * ic * oc, oc, 0.f, m + xi * chunk_tiles_ * oc, oc) != dnnl_success) {
          gemm_failed = true;
        }
      }
      OutputTransform<M>(m, first, count, dst);
    }
  }
  if (gemm_failed) return Internal("Winograd convolution: oneDNN's sgemm failed");
  return Status::Ok();
}

Status WinogradConv::Run(const float* src, float* dst, float* scratch) const {
  return tile_ == 2 ? RunTiled<2>(src, dst, scratch) : RunTiled<4>(src, dst, scratch);
}

}  // namespace mixq
