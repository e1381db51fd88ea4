// FP32 3x3 stride-1 convolutions on mixq's Winograd kernel (winograd_conv.h)
// in place of oneDNN's direct one, where the kernel applies and has enough
// work to pay for its fixed costs (a parallel region, 36 GEMM calls per
// chunk of tiles, reading the transformed weights, 4x the size of the plain
// ones, once per chunk):
//  * ungrouped, undilated, pads of at most 2; post-ops: a residual sum,
//    then one ReLU / LeakyReLU / Clip, each optional;
//  * oneDNN's AVX2-width layout (channels in blocks of 8);
//  * at least 32 input and output channels: with 16 the GEMMs are too thin
//    (0.5-0.9x the direct convolution's speed at batch 1 and 16, measured);
//  * at least 16 MFLOP of direct-convolution work per thread and 8 tiles per
//    thread's chunk: smaller layers ran at 0.5-0.9x (on 2 threads: 14.5 MFLOP
//    layers lost, 29-58 MFLOP ones won by 1.1-1.6x).
// The layouts are those oneDNN's direct convolution chose for the same node,
// so neighbouring primitives see the tensors they expect.
#include <omp.h>

#include <limits>

#include "engine/runtime/lower/conv_params.h"
#include "engine/runtime/lower/lowering.h"
#include "engine/runtime/lower/winograd_conv.h"

namespace mixq {

namespace {

constexpr int kTile = 4;
constexpr int64_t kMinTilesPerChunk = 8;
constexpr int64_t kMinChannels = 32;
constexpr double kMinFlopsPerThread = 16e6;

class WinogradStep final : public CustomKernel {
 public:
  WinogradStep(std::unique_ptr<WinogradConv> conv, std::shared_ptr<std::vector<float>> scratch)
      : conv_(std::move(conv)), scratch_(std::move(scratch)) {}

  Status Execute(const std::unordered_map<int, dnnl::memory>& args) override {
    const auto src = args.find(DNNL_ARG_SRC);
    const auto dst = args.find(DNNL_ARG_DST);
    if (src == args.end() || dst == args.end()) {
      return Internal("Winograd convolution without source or destination");
    }
    return conv_->Run(static_cast<const float*>(src->second.get_data_handle()),
                      static_cast<float*>(dst->second.get_data_handle()), scratch_->data());
  }

 private:
  std::unique_ptr<WinogradConv> conv_;
  std::shared_ptr<std::vector<float>> scratch_;  // shared with the model's other such steps
};

// The node's post-ops as the kernel's epilogue: an optional residual sum,
// then at most one ReLU / LeakyReLU / Clip; false for anything else.
bool EpilogueOf(const Node& node, Epilogue* e) {
  size_t next = 0;
  if (next < node.post_ops.size() && node.post_ops[next].kind == PostOp::Kind::kSum) {
    e->add_destination = true;
    ++next;
  }
  if (next == node.post_ops.size()) return true;
  if (next + 1 != node.post_ops.size()) return false;
  const PostOp& op = node.post_ops[next];
  if (op.kind != PostOp::Kind::kEltwise) return false;
  switch (op.eltwise) {
    case OpType::kRelu:
      e->negative_slope = 0.f;
      return true;
    case OpType::kLeakyRelu:
      e->negative_slope = op.alpha;
      return true;
    case OpType::kClip:
      e->low = op.alpha;
      e->high = op.beta;
      return true;
    default:
      return false;
  }
}

}  // namespace

StatusOr<bool> TryLowerWinogradConv(const Node& node, const ConvParams& p,
                                    const dnnl::convolution_forward::primitive_desc& direct,
                                    CompileContext* ctx) {
  if (!ctx->winograd() || p.group != 1 || p.x_dims.size() != 4 || p.weights->rank() != 4) {
    return false;
  }
  const Shape& w = p.weights->shape();
  if (w[2] != 3 || w[3] != 3 || p.weights->dtype() != DType::kF32) return false;
  if (p.bias != nullptr && p.bias->dtype() != DType::kF32) return false;
  for (int i = 0; i < 2; ++i) {
    if (p.strides[i] != 1 || p.dilations[i] != 0) return false;
  }
  Epilogue epilogue;
  if (!EpilogueOf(node, &epilogue)) return false;
  const int64_t ic = p.x_dims[1], oc = p.y_dims[1];
  if (ic < kMinChannels || oc < kMinChannels) return false;
  const double flops = 2.0 * 9 * ic * oc * p.y_dims[0] * p.y_dims[2] * p.y_dims[3];
  const int threads = omp_get_max_threads();
  if (flops < kMinFlopsPerThread * threads) return false;
  StatusOr<ChannelBlockedLayout> src_layout = ChannelBlockedLayoutOf(direct.src_desc());
  StatusOr<ChannelBlockedLayout> dst_layout = ChannelBlockedLayoutOf(direct.dst_desc());
  if (!src_layout.ok() || !dst_layout.ok()) return false;
  // oneDNN blocks channels by 8 for its AVX2 (and narrower) kernels. On
  // AVX-512 it blocks by 16 and its direct kernels are twice as wide, while
  // this kernel's transforms stay SSE; that trade was not measured on such a
  // CPU, so those convolutions stay with oneDNN.
  if (src_layout->block != 8 || dst_layout->block != 8) return false;

  WinogradConvShape shape;
  shape.batch = p.x_dims[0];
  shape.in_channels = p.x_dims[1];
  shape.height = p.x_dims[2];
  shape.width = p.x_dims[3];
  shape.out_channels = p.y_dims[1];
  shape.out_height = p.y_dims[2];
  shape.out_width = p.y_dims[3];
  shape.pad_top = p.pad_l[0];
  shape.pad_left = p.pad_l[1];
  if (WinogradConv::TilesPerChunk(shape, kTile, threads) < kMinTilesPerChunk) return false;
  StatusOr<std::unique_ptr<WinogradConv>> conv = WinogradConv::Create(
      shape, kTile, p.weights->data<float>(), p.bias ? p.bias->data<float>() : nullptr, epilogue,
      *src_layout, *dst_layout, threads);
  // Shapes the kernel does not take (channels not in multiples of 8, wide
  // pads) stay with oneDNN.
  if (!conv.ok()) return false;

  std::unordered_map<int, dnnl::memory> args;
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_SRC], ctx->ValueAs(node.inputs[0], direct.src_desc()));
  MIXQ_ASSIGN_OR_RETURN(args[DNNL_ARG_DST], ConvDestination(node, direct.dst_desc(), ctx));
  std::shared_ptr<std::vector<float>> scratch = ctx->SharedScratch((*conv)->scratch_floats());
  ctx->AddCustomStep("convolution", "mixq:winograd_f4x4_3x3",
                     std::make_unique<WinogradStep>(std::move(*conv), std::move(scratch)),
                     std::move(args));
  return true;
}

}  // namespace mixq
