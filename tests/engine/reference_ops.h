// Naive plain-loop reference implementations of the ops the executor
// lowers, for checking oneDNN results in tests. Row-major float tensors.
#ifndef MIXQ_TESTS_ENGINE_REFERENCE_OPS_H_
#define MIXQ_TESTS_ENGINE_REFERENCE_OPS_H_

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "common/tensor.h"

namespace mixq::ref {

inline std::vector<int64_t> Strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

// Conv with 1-3 spatial dims; pads [b..., e...], dilations ONNX style.
inline Tensor Conv(const Tensor& x, const Tensor& w, const Tensor* b, const Shape& out_shape,
                   std::vector<int64_t> strides, std::vector<int64_t> dil,
                   std::vector<int64_t> pads, int64_t group) {
  const size_t sp = x.rank() - 2;
  // Pad everything to 3 spatial dims.
  auto pad3 = [&](const Shape& s) {
    Shape r(s.begin(), s.begin() + 2);
    for (size_t i = sp; i < 3; ++i) r.push_back(1);
    r.insert(r.end(), s.begin() + 2, s.end());
    return r;
  };
  Shape xs = pad3(x.shape()), ws = pad3(w.shape()), ys = pad3(out_shape);
  std::vector<int64_t> st(3 - sp, 1), dl(3 - sp, 1), pb(3 - sp, 0);
  st.insert(st.end(), strides.begin(), strides.end());
  dl.insert(dl.end(), dil.begin(), dil.end());
  pb.insert(pb.end(), pads.begin(), pads.begin() + sp);
  Tensor y(DType::kF32, out_shape);
  const int64_t oc_per_g = ws[0] / group, ic_per_g = ws[1];
  const float* X = x.data<float>();
  const float* W = w.data<float>();
  float* Y = y.data<float>();
  int64_t yi = 0;
  for (int64_t n = 0; n < ys[0]; ++n)
    for (int64_t oc = 0; oc < ys[1]; ++oc)
      for (int64_t od = 0; od < ys[2]; ++od)
        for (int64_t oh = 0; oh < ys[3]; ++oh)
          for (int64_t ow = 0; ow < ys[4]; ++ow) {
            double acc = b ? b->data<float>()[oc] : 0.0;
            const int64_t g = oc / oc_per_g;
            for (int64_t ic = 0; ic < ic_per_g; ++ic)
              for (int64_t kd = 0; kd < ws[2]; ++kd)
                for (int64_t kh = 0; kh < ws[3]; ++kh)
                  for (int64_t kw = 0; kw < ws[4]; ++kw) {
                    int64_t id = od * st[0] - pb[0] + kd * dl[0];
                    int64_t ih = oh * st[1] - pb[1] + kh * dl[1];
                    int64_t iw = ow * st[2] - pb[2] + kw * dl[2];
                    if (id < 0 || id >= xs[2] || ih < 0 || ih >= xs[3] || iw < 0 || iw >= xs[4])
                      continue;
                    int64_t c = g * ic_per_g + ic;
                    acc += static_cast<double>(
                               X[(((n * xs[1] + c) * xs[2] + id) * xs[3] + ih) * xs[4] + iw]) *
                           W[(((oc * ws[1] + ic) * ws[2] + kd) * ws[3] + kh) * ws[4] + kw];
                  }
            Y[yi++] = static_cast<float>(acc);
          }
  return y;
}

// Pooling with 1-3 spatial dims; out_shape decides the output size.
inline Tensor Pool(const Tensor& x, const Shape& out_shape, std::vector<int64_t> kernel,
                   std::vector<int64_t> strides, std::vector<int64_t> pads, bool is_max,
                   bool count_include_pad, std::vector<int64_t> dil = {}) {
  const size_t sp = x.rank() - 2;
  if (dil.empty()) dil.assign(sp, 1);
  Tensor y(DType::kF32, out_shape);
  const Shape& xs = x.shape();
  int64_t outer = xs[0] * xs[1], xin = 1, yin = 1;
  for (size_t i = 0; i < sp; ++i) {
    xin *= xs[i + 2];
    yin *= out_shape[i + 2];
  }
  std::vector<int64_t> ystr(sp, 1), xstr(sp, 1);
  for (int i = static_cast<int>(sp) - 2; i >= 0; --i) {
    ystr[i] = ystr[i + 1] * out_shape[i + 3];
    xstr[i] = xstr[i + 1] * xs[i + 3];
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t p = 0; p < yin; ++p) {
      std::vector<int64_t> start(sp), end_pad(sp);
      int64_t kcount = 1;
      for (size_t i = 0; i < sp; ++i) kcount *= kernel[i];
      double acc = is_max ? -std::numeric_limits<double>::infinity() : 0.0;
      int64_t count = 0, padded_count = 1;
      for (size_t i = 0; i < sp; ++i) {
        int64_t oi = (p / ystr[i]) % out_shape[i + 2];
        start[i] = oi * strides[i] - pads[i];
        // ONNX divisor with padding: the window clipped to the padded input.
        int64_t hi = std::min(start[i] + (kernel[i] - 1) * dil[i] + 1, xs[i + 2] + pads[sp + i]);
        padded_count *= (hi - start[i] + dil[i] - 1) / dil[i];
      }
      for (int64_t k = 0; k < kcount; ++k) {
        int64_t rem = k, off = 0;
        bool inside = true;
        for (int i = static_cast<int>(sp) - 1; i >= 0; --i) {
          int64_t ki = rem % kernel[i];
          rem /= kernel[i];
          int64_t xi = start[i] + ki * dil[i];
          if (xi < 0 || xi >= xs[i + 2]) inside = false;
          off += xi * xstr[i];
        }
        if (!inside) continue;
        float v = x.data<float>()[o * xin + off];
        if (is_max) {
          acc = std::max<double>(acc, v);
        } else {
          acc += v;
        }
        ++count;
      }
      if (!is_max) acc /= count_include_pad ? padded_count : count;
      y.data<float>()[o * yin + p] = static_cast<float>(acc);
    }
  return y;
}

inline Tensor Gemm(const Tensor& a, const Tensor& b, const Tensor* c, float alpha, float beta,
                   bool ta, bool tb) {
  int64_t m = ta ? a.shape()[1] : a.shape()[0], k = ta ? a.shape()[0] : a.shape()[1];
  int64_t n = tb ? b.shape()[0] : b.shape()[1];
  Tensor y(DType::kF32, {m, n});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        float av = ta ? a.data<float>()[p * m + i] : a.data<float>()[i * k + p];
        float bv = tb ? b.data<float>()[j * k + p] : b.data<float>()[p * n + j];
        acc += static_cast<double>(av) * bv;
      }
      double cv = 0;
      if (c) {
        Shape cs = c->shape();
        while (cs.size() < 2) cs.insert(cs.begin(), 1);
        cv = c->data<float>()[(cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j)];
      }
      y.data<float>()[i * n + j] = static_cast<float>(alpha * acc + beta * cv);
    }
  return y;
}

// Index into `s` (right-aligned to out rank) for a broadcast read.
inline int64_t BroadcastIndex(const Shape& out, const Shape& s, int64_t flat) {
  std::vector<int64_t> ost = Strides(out), sst = Strides(s);
  int64_t idx = 0;
  size_t off = out.size() - s.size();
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t c = (flat / ost[i]) % out[i];
    if (i >= off && s[i - off] != 1) idx += c * sst[i - off];
  }
  return idx;
}

inline Tensor Binary(const Tensor& a, const Tensor& b, const Shape& out,
                     const std::function<float(float, float)>& f) {
  Tensor y(DType::kF32, out);
  for (int64_t i = 0; i < y.size(); ++i) {
    y.data<float>()[i] = f(a.data<float>()[BroadcastIndex(out, a.shape(), i)],
                           b.data<float>()[BroadcastIndex(out, b.shape(), i)]);
  }
  return y;
}

inline Tensor MatMul(const Tensor& a, const Tensor& b, const Shape& out) {
  Shape as = a.shape(), bs = b.shape();
  if (as.size() == 1) as.insert(as.begin(), 1);
  if (bs.size() == 1) bs.push_back(1);
  size_t r = std::max(as.size(), bs.size());
  while (as.size() < r) as.insert(as.begin(), 1);
  while (bs.size() < r) bs.insert(bs.begin(), 1);
  int64_t m = as[r - 2], k = as[r - 1], n = bs[r - 1];
  Shape batch;
  for (size_t i = 0; i + 2 < r; ++i) batch.push_back(std::max(as[i], bs[i]));
  Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  Tensor y(DType::kF32, out);
  int64_t nb = NumElements(batch);
  for (int64_t bi = 0; bi < nb; ++bi) {
    int64_t ab = batch.empty() ? 0 : BroadcastIndex(batch, a_batch, bi);
    int64_t bb = batch.empty() ? 0 : BroadcastIndex(batch, b_batch, bi);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += static_cast<double>(a.data<float>()[ab * m * k + i * k + p]) *
                 b.data<float>()[bb * k * n + p * n + j];
        y.data<float>()[(bi * m + i) * n + j] = static_cast<float>(acc);
      }
  }
  return y;
}

inline Tensor Unary(const Tensor& x, const std::function<float(float)>& f) {
  Tensor y(x);
  for (int64_t i = 0; i < y.size(); ++i) y.data<float>()[i] = f(x.data<float>()[i]);
  return y;
}

inline Tensor Relu(const Tensor& x) {
  return Unary(x, [](float v) { return std::max(v, 0.f); });
}

inline Tensor Transpose(const Tensor& x, const std::vector<int64_t>& perm) {
  Shape ys;
  for (int64_t p : perm) ys.push_back(x.shape()[p]);
  Tensor y(DType::kF32, ys);
  std::vector<int64_t> xst = Strides(x.shape()), yst = Strides(ys);
  for (int64_t i = 0; i < y.size(); ++i) {
    int64_t off = 0;
    for (size_t j = 0; j < perm.size(); ++j) off += ((i / yst[j]) % ys[j]) * xst[perm[j]];
    y.data<float>()[i] = x.data<float>()[off];
  }
  return y;
}

inline Tensor Concat(const std::vector<const Tensor*>& xs, int64_t axis) {
  Shape ys = xs[0]->shape();
  ys[axis] = 0;
  for (const Tensor* x : xs) ys[axis] += x->shape()[axis];
  Tensor y(DType::kF32, ys);
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= ys[i];
  float* out = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor* x : xs) {
      int64_t chunk = x->size() / outer;
      std::copy(x->data<float>() + o * chunk, x->data<float>() + (o + 1) * chunk, out);
      out += chunk;
    }
  return y;
}

// Softmax (or LogSoftmax, `log`) over [outer, n, inner] views: dims
// [axis, axis_end) are normalised together.
inline Tensor Softmax(const Tensor& x, int64_t axis, bool coerce_2d, bool log = false) {
  Tensor y(x);
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t i = 0; i < x.rank(); ++i) {
    if (i < axis)
      outer *= x.shape()[i];
    else if (i == axis || coerce_2d)
      n *= x.shape()[i];
    else
      inner *= x.shape()[i];
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float* src = x.data<float>() + o * n * inner + in;
      float* dst = y.data<float>() + o * n * inner + in;
      double mx = -1e30, sum = 0;
      for (int64_t j = 0; j < n; ++j) mx = std::max<double>(mx, src[j * inner]);
      for (int64_t j = 0; j < n; ++j) sum += std::exp(src[j * inner] - mx);
      for (int64_t j = 0; j < n; ++j) {
        dst[j * inner] = static_cast<float>(log ? src[j * inner] - mx - std::log(sum)
                                                : std::exp(src[j * inner] - mx) / sum);
      }
    }
  return y;
}

inline Tensor LogSoftmax(const Tensor& x, int64_t axis, bool coerce_2d) {
  return Softmax(x, axis, coerce_2d, true);
}

inline Tensor BatchNorm(const Tensor& x, const Tensor& scale, const Tensor& bias,
                        const Tensor& mean, const Tensor& var, float eps) {
  Tensor y(x);
  int64_t c = x.shape()[1], inner = x.size() / (x.shape()[0] * c);
  for (int64_t i = 0; i < x.size(); ++i) {
    int64_t ch = (i / inner) % c;
    y.data<float>()[i] = (x.data<float>()[i] - mean.data<float>()[ch]) /
                             std::sqrt(var.data<float>()[ch] + eps) * scale.data<float>()[ch] +
                         bias.data<float>()[ch];
  }
  return y;
}

// ConvTranspose with 1-3 spatial dims, in gather form: output position o of
// a spatial dim reads input i where i * stride + k * dilation - pad_begin ==
// o. W [C_in, C_out / group, K...]; out_shape decides the output size.
inline Tensor ConvTranspose(const Tensor& x, const Tensor& w, const Tensor* b,
                            const Shape& out_shape, const std::vector<int64_t>& strides,
                            const std::vector<int64_t>& dil, const std::vector<int64_t>& pads_begin,
                            int64_t group) {
  const size_t sp = x.rank() - 2;
  Tensor y(DType::kF32, out_shape);
  const Shape& xs = x.shape();
  const Shape& ws = w.shape();
  const int64_t ic_per_g = xs[1] / group, oc_per_g = ws[1];
  const std::vector<int64_t> xst = Strides(xs), wst = Strides(ws), yst = Strides(out_shape);
  std::vector<int64_t> o(sp), k(sp);
  for (int64_t yi = 0; yi < y.size(); ++yi) {
    const int64_t n = yi / yst[0], oc = (yi / yst[1]) % out_shape[1];
    for (size_t d = 0; d < sp; ++d) o[d] = (yi / yst[2 + d]) % out_shape[2 + d];
    const int64_t g = oc / oc_per_g, j = oc % oc_per_g;
    double acc = b ? b->data<float>()[oc] : 0.0;
    int64_t taps = 1;
    for (size_t d = 0; d < sp; ++d) taps *= ws[2 + d];
    for (int64_t t = 0; t < taps; ++t) {
      int64_t rest = t, x_off = 0, w_off = 0;
      bool inside = true;
      for (size_t d = sp; d-- > 0;) {
        k[d] = rest % ws[2 + d];
        rest /= ws[2 + d];
        const int64_t num = o[d] + pads_begin[d] - k[d] * dil[d];
        if (num < 0 || num % strides[d] != 0 || num / strides[d] >= xs[2 + d]) inside = false;
        x_off += (num / strides[d]) * xst[2 + d];
        w_off += k[d] * wst[2 + d];
      }
      if (!inside) continue;
      for (int64_t c = 0; c < ic_per_g; ++c) {
        const int64_t ic = g * ic_per_g + c;
        acc += static_cast<double>(x.data<float>()[n * xst[0] + ic * xst[1] + x_off]) *
               w.data<float>()[ic * wst[0] + j * wst[1] + w_off];
      }
    }
    y.data<float>()[yi] = static_cast<float>(acc);
  }
  return y;
}

}  // namespace mixq::ref

#endif  // MIXQ_TESTS_ENGINE_REFERENCE_OPS_H_
