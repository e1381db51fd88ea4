#include "engine/runtime/lower/post_ops.h"

#include <dnnl_debug.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace mixq {

using dnnl::algorithm;

StatusOr<std::vector<EltwiseStep>> EltwiseChain(OpType op, float alpha, float beta) {
  switch (op) {
    case OpType::kRelu:
      return std::vector<EltwiseStep>{{algorithm::eltwise_relu, 0.f, 0.f}};
    case OpType::kLeakyRelu:
      return std::vector<EltwiseStep>{{algorithm::eltwise_relu, alpha, 0.f}};
    case OpType::kClip:
      // Clip(0, inf) is a ReLU; the ReLU kernels are the cheaper post-op.
      if (alpha == 0.f && beta == std::numeric_limits<float>::infinity()) {
        return std::vector<EltwiseStep>{{algorithm::eltwise_relu, 0.f, 0.f}};
      }
      return std::vector<EltwiseStep>{{algorithm::eltwise_clip, alpha, beta}};
    case OpType::kSigmoid:
      return std::vector<EltwiseStep>{{algorithm::eltwise_logistic, 0.f, 0.f}};
    case OpType::kTanh:
      return std::vector<EltwiseStep>{{algorithm::eltwise_tanh, 0.f, 0.f}};
    case OpType::kHardSwish:
      return std::vector<EltwiseStep>{{algorithm::eltwise_hardswish, 0.f, 0.f}};
    case OpType::kMul:
      // Swish, x * Sigmoid(alpha * x): how the IR writes SiLU as a post-op
      // (engine/passes/activation_patterns.h).
      return std::vector<EltwiseStep>{{algorithm::eltwise_swish, alpha, 0.f}};
    case OpType::kHardSigmoid:
      // oneDNN 2.6 has no hardsigmoid: max(0, min(1, alpha * x + beta)).
      return std::vector<EltwiseStep>{{algorithm::eltwise_linear, alpha, beta},
                                      {algorithm::eltwise_clip, 0.f, 1.f}};
    case OpType::kAbs:
      return std::vector<EltwiseStep>{{algorithm::eltwise_abs, 0.f, 0.f}};
    case OpType::kNeg:
      return std::vector<EltwiseStep>{{algorithm::eltwise_linear, -1.f, 0.f}};
    case OpType::kSqrt:
      return std::vector<EltwiseStep>{{algorithm::eltwise_sqrt, 0.f, 0.f}};
    case OpType::kReciprocal:
      // eltwise_pow computes alpha * x^beta.
      return std::vector<EltwiseStep>{{algorithm::eltwise_pow, 1.f, -1.f}};
    case OpType::kExp:
      return std::vector<EltwiseStep>{{algorithm::eltwise_exp, 0.f, 0.f}};
    case OpType::kLog:
      return std::vector<EltwiseStep>{{algorithm::eltwise_log, 0.f, 0.f}};
    case OpType::kRound:
      // Rounds halves to even, as ONNX's Round does.
      return std::vector<EltwiseStep>{{algorithm::eltwise_round, 0.f, 0.f}};
    case OpType::kElu:
      return std::vector<EltwiseStep>{{algorithm::eltwise_elu, alpha, 0.f}};
    case OpType::kSelu:
      // gamma * elu_alpha(x); beta carries gamma (see EltwisePostOpOf).
      return std::vector<EltwiseStep>{{algorithm::eltwise_elu, alpha, 0.f},
                                      {algorithm::eltwise_linear, beta, 0.f}};
    case OpType::kSoftplus:
      // oneDNN 2.6's soft_relu is log(1 + e^x), with no parameter.
      return std::vector<EltwiseStep>{{algorithm::eltwise_soft_relu, 0.f, 0.f}};
    case OpType::kGelu:
      return std::vector<EltwiseStep>{
          {alpha != 0.f ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf, 0.f, 0.f}};
    default:
      break;
  }
  return Unimplemented(std::string(OpTypeName(op)) + " is not an element-wise op");
}

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool IsLinear(const EltwiseStep& s) { return s.algorithm == algorithm::eltwise_linear; }

// Clip, or ReLU (clip to [0, inf)).
bool IsClamp(const EltwiseStep& s) {
  return s.algorithm == algorithm::eltwise_clip ||
         (s.algorithm == algorithm::eltwise_relu && s.alpha == 0.f);
}

float Low(const EltwiseStep& s) { return s.algorithm == algorithm::eltwise_clip ? s.alpha : 0.f; }
float High(const EltwiseStep& s) { return s.algorithm == algorithm::eltwise_clip ? s.beta : kInf; }
float Clamp(float v, float lo, float hi) { return std::min(std::max(v, lo), hi); }

EltwiseStep ClampStep(float lo, float hi) {
  if (lo == 0.f && hi == kInf) return {algorithm::eltwise_relu, 0.f, 0.f};
  return {algorithm::eltwise_clip, lo, hi};
}

// One rewrite of the adjacent steps (a, then b) into an equal sequence, or
// false when none applies.
bool Rewrite(const EltwiseStep& a, const EltwiseStep& b, std::vector<EltwiseStep>* out) {
  if (IsLinear(a) && IsLinear(b)) {
    *out = {{algorithm::eltwise_linear, b.alpha * a.alpha, b.alpha * a.beta + b.beta}};
    return true;
  }
  if (IsClamp(a) && IsClamp(b)) {
    // clamp(clamp(v, l1, h1), l2, h2) = clamp(v, clamp(l1, l2, h2), clamp(h1, l2, h2))
    *out = {ClampStep(Clamp(Low(a), Low(b), High(b)), Clamp(High(a), Low(b), High(b)))};
    return true;
  }
  if (IsClamp(a) && IsLinear(b) && b.alpha > 0.f) {
    auto map = [&](float v) { return v == kInf ? kInf : b.alpha * v + b.beta; };
    *out = {b, ClampStep(map(Low(a)), map(High(a)))};
    return true;
  }
  const bool leaky = a.algorithm == algorithm::eltwise_relu && a.alpha > 0.f;
  if (leaky && b.algorithm == algorithm::eltwise_relu && b.alpha >= 0.f) {
    *out = {{algorithm::eltwise_relu, a.alpha * b.alpha, 0.f}};
    return true;
  }
  if (leaky && IsLinear(b) && b.alpha > 0.f && b.beta == 0.f) {
    *out = {b, a};
    return true;
  }
  return false;
}

}  // namespace

std::vector<EltwiseStep> SimplifyChain(std::vector<EltwiseStep> chain) {
  // Every rewrite shortens the chain or moves a linear step left: it ends.
  for (size_t i = 1; i < chain.size();) {
    std::vector<EltwiseStep> out;
    if (!Rewrite(chain[i - 1], chain[i], &out)) {
      ++i;
      continue;
    }
    chain.erase(chain.begin() + static_cast<std::ptrdiff_t>(i - 1),
                chain.begin() + static_cast<std::ptrdiff_t>(i + 1));
    chain.insert(chain.begin() + static_cast<std::ptrdiff_t>(i - 1), out.begin(), out.end());
    i = std::max<size_t>(i - 1, 1);
  }
  return chain;
}

Status AppendEltwiseRun(const std::vector<EltwiseStep>& run, dnnl::post_ops* ops) {
  for (const EltwiseStep& step : SimplifyChain(run)) {
    for (int i = 0; i < ops->len(); ++i) {
      if (ops->kind(i) != dnnl::primitive::kind::eltwise) continue;
      float scale = 0.f, alpha = 0.f, beta = 0.f;
      algorithm alg;
      ops->get_params_eltwise(i, scale, alg, alpha, beta);
      if (alg == step.algorithm && (alpha != step.alpha || beta != step.beta)) {
        return Unimplemented("oneDNN 2.6 would run the post-op chain's two " +
                             std::string(dnnl_alg_kind2str(static_cast<dnnl_alg_kind_t>(alg))) +
                             " steps with the first one's parameters");
      }
    }
    ops->append_eltwise(1.f, step.algorithm, step.alpha, step.beta);
  }
  return Status::Ok();
}

StatusOr<dnnl::primitive_attr> PostOpsAttr(const Node& node, dnnl::post_ops leading,
                                           std::vector<EltwiseStep> first_steps) {
  std::vector<EltwiseStep> run = std::move(first_steps);
  for (const PostOp& op : node.post_ops) {
    if (op.kind == PostOp::Kind::kSum) {
      MIXQ_RETURN_IF_ERROR(AppendEltwiseRun(run, &leading));
      run.clear();
      leading.append_sum(1.f);
      continue;
    }
    MIXQ_ASSIGN_OR_RETURN(std::vector<EltwiseStep> chain,
                          EltwiseChain(op.eltwise, op.alpha, op.beta));
    run.insert(run.end(), chain.begin(), chain.end());
  }
  MIXQ_RETURN_IF_ERROR(AppendEltwiseRun(run, &leading));
  dnnl::primitive_attr attr;
  attr.set_post_ops(leading);
  return attr;
}

}  // namespace mixq
