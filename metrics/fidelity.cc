#include "metrics/fidelity.h"

#include <cmath>
#include <limits>

#include "metrics/byte_codec.h"

namespace mixq {

double OutputFidelity::SqnrDb() const {
  const double s = signal.Value(), n = noise.Value();
  if (samples == 0 || std::isnan(s) || std::isnan(n)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (n == 0) return std::numeric_limits<double>::infinity();
  if (s == 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(s / n);
}

double OutputFidelity::MeanCosine() const {
  if (samples == 0) return std::numeric_limits<double>::quiet_NaN();
  return cosine.Value() / static_cast<double>(samples);
}

Status FidelityStats::Add(const std::vector<std::string>& names,
                          const std::vector<Tensor>& reference,
                          const std::vector<Tensor>& outputs) {
  if (names.size() != reference.size() || names.size() != outputs.size()) {
    return InvalidArgument("fidelity: " + std::to_string(names.size()) + " output names, " +
                           std::to_string(reference.size()) + " reference and " +
                           std::to_string(outputs.size()) + " outputs");
  }
  if (static_cast<int64_t>(names.size()) > kMaxFidelityOutputs) {
    return InvalidArgument("fidelity: " + std::to_string(names.size()) + " outputs, more than " +
                           std::to_string(kMaxFidelityOutputs));
  }
  if (outputs_.empty()) {
    for (const std::string& name : names) outputs_.push_back({name, {}, {}, {}, 0});
  }
  for (size_t o = 0; o < names.size(); ++o) {
    if (outputs_.size() != names.size() || outputs_[o].output != names[o]) {
      return InvalidArgument("fidelity: output '" + names[o] + "' where earlier batches had '" +
                             (o < outputs_.size() ? outputs_[o].output : std::string()) + "'");
    }
    const Tensor& ref = reference[o];
    const Tensor& out = outputs[o];
    if (ref.dtype() != DType::kF32 || out.dtype() != DType::kF32 || ref.shape() != out.shape() ||
        ref.rank() == 0) {
      return InvalidArgument("fidelity: output '" + names[o] + "' is " +
                             ShapeToString(out.shape()) + " " + DTypeName(out.dtype()) +
                             ", FP32's is " + ShapeToString(ref.shape()) + " " +
                             DTypeName(ref.dtype()) + " (float32 outputs of one shape compare)");
    }
    const int64_t n = ref.shape()[0];
    const int64_t per_sample = n > 0 ? NumElements(ref.shape()) / n : 0;
    const float* r = ref.data<float>();
    const float* q = out.data<float>();
    OutputFidelity& f = outputs_[o];
    for (int64_t i = 0; i < n; ++i) {
      // Per sample in double, then into the exact sums: the sample's terms
      // are always added in the same order, whatever the sharding.
      double signal = 0, noise = 0, dot = 0, out_sq = 0;
      for (int64_t k = i * per_sample; k < (i + 1) * per_sample; ++k) {
        const double a = r[k], b = q[k];
        signal += a * a;
        noise += (b - a) * (b - a);
        dot += a * b;
        out_sq += b * b;
      }
      double cosine = 0;
      if (signal == 0 && out_sq == 0) {
        cosine = 1;
      } else if (signal > 0 && out_sq > 0) {
        cosine = dot / (std::sqrt(signal) * std::sqrt(out_sq));
      }
      f.signal.Add(signal);
      f.noise.Add(noise);
      f.cosine.Add(cosine);
      ++f.samples;
    }
  }
  return Status::Ok();
}

Status FidelityStats::Merge(const FidelityStats& other) {
  if (other.outputs_.empty()) return Status::Ok();
  if (outputs_.empty()) {
    outputs_ = other.outputs_;
    return Status::Ok();
  }
  if (outputs_.size() != other.outputs_.size()) {
    return InvalidArgument("fidelity: merging statistics of " +
                           std::to_string(other.outputs_.size()) + " outputs into " +
                           std::to_string(outputs_.size()));
  }
  for (size_t o = 0; o < outputs_.size(); ++o) {
    if (outputs_[o].output != other.outputs_[o].output) {
      return InvalidArgument("fidelity: merging output '" + other.outputs_[o].output + "' into '" +
                             outputs_[o].output + "'");
    }
  }
  for (size_t o = 0; o < outputs_.size(); ++o) {
    outputs_[o].signal.Merge(other.outputs_[o].signal);
    outputs_[o].noise.Merge(other.outputs_[o].noise);
    outputs_[o].cosine.Merge(other.outputs_[o].cosine);
    outputs_[o].samples += other.outputs_[o].samples;
  }
  return Status::Ok();
}

std::string FidelityStats::Serialize() const {
  ByteWriter out;
  out.PutBytes("MQFS");
  out.PutByte(1);
  out.PutVarint(outputs_.size());
  for (const OutputFidelity& f : outputs_) {
    out.PutVarint(f.output.size());
    out.PutBytes(f.output);
    out.PutVarint(static_cast<uint64_t>(f.samples));
    f.signal.Write(&out);
    f.noise.Write(&out);
    f.cosine.Write(&out);
  }
  return out.Release();
}

StatusOr<FidelityStats> FidelityStats::Parse(const std::string& bytes, const std::string& source) {
  ByteReader in(bytes, source);
  MIXQ_RETURN_IF_ERROR(in.ExpectBytes("MQFS", "magic"));
  uint8_t version = 0;
  MIXQ_RETURN_IF_ERROR(in.ReadByte(&version, "version"));
  if (version != 1) return in.Corrupt("fidelity statistics version " + std::to_string(version));
  uint64_t count = 0;
  MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(kMaxFidelityOutputs, &count, "output count"));
  // Each output takes at least 3 x 22 bytes of sums.
  MIXQ_RETURN_IF_ERROR(in.CheckCount(count, 66, "outputs"));
  FidelityStats stats;
  for (uint64_t o = 0; o < count; ++o) {
    uint64_t length = 0;
    MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(4096, &length, "output name length"));
    MIXQ_RETURN_IF_ERROR(in.CheckCount(length, 1, "output name"));
    OutputFidelity f;
    f.output.resize(length);
    for (uint64_t i = 0; i < length; ++i) {
      uint8_t c = 0;
      MIXQ_RETURN_IF_ERROR(in.ReadByte(&c, "output name"));
      f.output[i] = static_cast<char>(c);
    }
    uint64_t samples = 0;
    MIXQ_RETURN_IF_ERROR(in.ReadBoundedVarint(uint64_t{1} << 50, &samples, "samples"));
    f.samples = static_cast<int64_t>(samples);
    MIXQ_ASSIGN_OR_RETURN(f.signal, ExactSum::Read(&in, "signal"));
    MIXQ_ASSIGN_OR_RETURN(f.noise, ExactSum::Read(&in, "noise"));
    MIXQ_ASSIGN_OR_RETURN(f.cosine, ExactSum::Read(&in, "cosine"));
    stats.outputs_.push_back(std::move(f));
  }
  MIXQ_RETURN_IF_ERROR(in.ExpectEnd());
  return stats;
}

}  // namespace mixq
