#include "engine/runtime/lower/compile_context.h"

#include <algorithm>

namespace mixq {

using dnnl::memory;

memory::desc PlainDesc(const memory::dims& dims, memory::data_type type) {
  memory::dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) {
    strides[i] = strides[i + 1] * dims[i + 1];
  }
  return memory::desc(dims, type, strides);
}

memory::desc LayoutLike(const memory::desc& like, const memory::dims& dims) {
  using tag = memory::format_tag;
  static const std::vector<std::vector<tag>> kTags = {
      {tag::abc, tag::acb, tag::aBc4b, tag::aBc8b, tag::aBc16b},
      {tag::abcd, tag::acdb, tag::aBcd4b, tag::aBcd8b, tag::aBcd16b},
      {tag::abcde, tag::acdeb, tag::aBcde4b, tag::aBcde8b, tag::aBcde16b}};
  const memory::dims like_dims = like.dims();
  const size_t rank = like_dims.size();
  if (rank == dims.size() && rank >= 3 && rank <= 5) {
    for (tag t : kTags[rank - 3]) {
      if (memory::desc(like_dims, like.data_type(), t) == like) {
        return memory::desc(dims, like.data_type(), t);
      }
    }
  }
  return PlainDesc(dims, like.data_type());
}

memory::dims ToDims(const Shape& shape) {
  if (shape.empty()) return {1};
  return memory::dims(shape.begin(), shape.end());
}

CompileContext::CompileContext(const Graph& graph, const dnnl::engine& engine)
    : graph_(graph), engine_(engine), stream_(engine) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    for (const std::string& in : graph.nodes[i].inputs) last_consumer_[in] = static_cast<int>(i);
    for (const PostOp& op : graph.nodes[i].post_ops) {
      if (op.kind == PostOp::Kind::kSum) last_consumer_[op.sum_input] = static_cast<int>(i);
    }
  }
}

StatusOr<memory::dims> CompileContext::Dims(const std::string& value) const {
  const ValueInfo* info = graph_.FindValue(value);
  if (info == nullptr) return InvalidArgument("value '" + value + "' has no shape");
  for (int64_t d : info->shape) {
    if (d < 0) {
      return InvalidArgument("value '" + value + "' has unknown shape " +
                             ShapeToString(info->shape) + " (graph not specialised?)");
    }
  }
  return ToDims(info->shape);
}

const Tensor* CompileContext::FindConstant(const std::string& value) const {
  auto it = graph_.constants.find(value);
  return it == graph_.constants.end() ? nullptr : &it->second;
}

StatusOr<memory> CompileContext::Value(const std::string& value) {
  auto it = values_.find(value);
  if (it == values_.end()) {
    if (const Tensor* constant = FindConstant(value)) {
      memory::desc plain = PlainDesc(ToDims(constant->shape()));
      MIXQ_ASSIGN_OR_RETURN(memory mem, ConstantAs(*constant, plain, plain));
      values_[value] = mem;
      return mem;
    }
    return Internal("value '" + value + "' is used before it is computed");
  }
  return it->second;
}

StatusOr<memory> CompileContext::ValueAs(const std::string& value, const memory::desc& desc) {
  return ValueAs(value, desc, 1.f);
}

StatusOr<memory> CompileContext::ValueAs(const std::string& value, const memory::desc& desc,
                                         float scale) {
  MIXQ_ASSIGN_OR_RETURN(memory mem, Value(value));
  if (mem.get_desc() == desc && scale == 1.f) return mem;
  std::vector<memory>& done = converted_[value];
  for (const memory& m : done) {
    if (m.get_desc() == desc) return m;
  }
  memory converted = NewBuffer(desc);
  AddReorder(mem, converted, scale);
  done.push_back(converted);
  return converted;
}

StatusOr<memory> CompileContext::PlainValue(const std::string& value) {
  MIXQ_ASSIGN_OR_RETURN(memory mem, Value(value));
  const memory::desc desc = mem.get_desc();
  return ValueAs(value, PlainDesc(desc.dims(), desc.data_type()));
}

int CompileContext::NewBufferId(const memory& memory, bool external) {
  Buffer buffer;
  buffer.bytes = memory.get_desc().get_size();
  buffer.external = external;
  buffer.views.push_back(memory);
  buffers_.push_back(std::move(buffer));
  int id = static_cast<int>(buffers_.size()) - 1;
  buffer_of_[memory.get()] = id;
  return id;
}

memory CompileContext::NewBuffer(const memory::desc& desc) {
  memory mem(desc, engine_, DNNL_MEMORY_NONE);
  NewBufferId(mem, /*external=*/false);
  return mem;
}

memory CompileContext::DefineValue(const std::string& value, const memory::desc& desc) {
  memory mem = NewBuffer(desc);
  values_[value] = mem;
  return mem;
}

memory CompileContext::DefineAlias(const std::string& value, const memory::desc& desc,
                                   const memory& of) {
  memory mem = View(of, desc);
  values_[value] = mem;
  return mem;
}

memory CompileContext::View(const memory& of, const memory::desc& desc) {
  memory mem(desc, engine_, DNNL_MEMORY_NONE);
  auto it = buffer_of_.find(of.get());
  if (it != buffer_of_.end()) {
    buffers_[it->second].views.push_back(mem);
    buffer_of_[mem.get()] = it->second;
  } else {
    // A constant: share its storage, which must outlive the view.
    mem.set_data_handle(of.get_data_handle());
    viewed_constants_.push_back(of);
  }
  return mem;
}

void CompileContext::DefineSame(const std::string& value, const memory& memory) {
  values_[value] = memory;
}

bool CompileContext::CanOverwrite(const std::string& value) const {
  auto v = values_.find(value);
  if (v == values_.end()) return false;
  auto b = buffer_of_.find(v->second.get());
  if (b == buffer_of_.end()) return false;
  const Buffer& buffer = buffers_[b->second];
  if (buffer.external || buffer.views.size() != 1) return false;
  if (std::find(graph_.outputs.begin(), graph_.outputs.end(), value) != graph_.outputs.end()) {
    return false;
  }
  auto last = last_consumer_.find(value);
  return last == last_consumer_.end() || last->second <= static_cast<int>(current_node_);
}

StatusOr<memory> CompileContext::ConstantAs(const Tensor& tensor, const memory::desc& tensor_desc,
                                            const memory::desc& desc) {
  if (tensor.dtype() != DType::kF32 && tensor.dtype() != DType::kI8) {
    return Unimplemented(std::string("constant of type ") + DTypeName(tensor.dtype()));
  }
  if (tensor_desc.get_size() != tensor.bytes()) {
    return InvalidArgument("constant of shape " + ShapeToString(tensor.shape()) +
                           " does not have the expected size");
  }
  memory plain(tensor_desc, engine_, const_cast<void*>(tensor.raw()));
  memory out(desc, engine_);  // owns its storage
  dnnl::reorder(plain, out).execute(stream_, plain, out);
  stream_.wait();
  return out;
}

void CompileContext::AddCustomStep(const std::string& kind, const std::string& impl,
                                   std::unique_ptr<CustomKernel> kernel,
                                   std::unordered_map<int, memory> args) {
  Step step;
  step.node = step_label_;
  step.kind = kind;
  step.impl = impl;
  step.custom = std::move(kernel);
  step.args = std::move(args);
  steps_.push_back(std::move(step));
}

std::shared_ptr<std::vector<float>> CompileContext::SharedScratch(size_t floats) {
  if (shared_scratch_ == nullptr) shared_scratch_ = std::make_shared<std::vector<float>>();
  if (shared_scratch_->size() < floats) shared_scratch_->resize(floats);
  return shared_scratch_;
}

void CompileContext::AddStep(const std::string& kind, const dnnl::primitive& primitive,
                             const std::string& impl, std::unordered_map<int, memory> args) {
  Step step;
  step.node = step_label_;
  step.kind = kind;
  step.impl = impl;
  step.primitive = primitive;
  step.args = std::move(args);
  steps_.push_back(std::move(step));
}

void CompileContext::AddReorder(const memory& src, const memory& dst, float scale) {
  dnnl::primitive_attr attr;
  if (scale != 1.f) attr.set_output_scales(0, {scale});
  dnnl::reorder::primitive_desc pd(engine_, src.get_desc(), engine_, dst.get_desc(), attr);
  AddStep("reorder", dnnl::reorder(pd), pd.impl_info_str(),
          {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
}

memory CompileContext::DefineInput(const std::string& value, const memory::desc& desc) {
  memory mem(desc, engine_, DNNL_MEMORY_NONE);
  NewBufferId(mem, /*external=*/true);
  values_[value] = mem;
  return mem;
}

memory CompileContext::NewOutput(const memory::desc& desc) {
  memory mem(desc, engine_, DNNL_MEMORY_NONE);
  NewBufferId(mem, /*external=*/true);
  return mem;
}

const std::vector<memory>& CompileContext::ExternalViews(const memory& memory) const {
  return buffers_[buffer_of_.at(memory.get())].views;
}

StatusOr<size_t> CompileContext::Finish() {
  for (size_t s = 0; s < steps_.size(); ++s) {
    Step& step = steps_[s];
    step.c_args.clear();
    for (const auto& [arg, mem] : step.args) {
      step.c_args.push_back({arg, mem.get()});
      auto it = buffer_of_.find(mem.get());
      if (it == buffer_of_.end()) continue;  // a constant
      Buffer& buffer = buffers_[it->second];
      if (buffer.first < 0) buffer.first = static_cast<int>(s);
      buffer.last = static_cast<int>(s);
    }
  }
  // Greedy packing in step order: a buffer takes the smallest free arena that
  // is big enough, else grows the largest free one, else opens a new arena.
  // Arenas are released after the step that last uses their buffer, so the
  // inputs and outputs of one step never share storage.
  std::vector<std::vector<int>> starting(steps_.size()), ending(steps_.size());
  for (size_t b = 0; b < buffers_.size(); ++b) {
    if (buffers_[b].external || buffers_[b].first < 0) continue;
    starting[buffers_[b].first].push_back(static_cast<int>(b));
    ending[buffers_[b].last].push_back(static_cast<int>(b));
  }
  std::vector<size_t> arena_bytes;
  std::vector<int> arena_of(buffers_.size(), -1);
  std::vector<int> free_arenas;
  for (size_t s = 0; s < steps_.size(); ++s) {
    for (int b : starting[s]) {
      size_t need = buffers_[b].bytes;
      int best = -1;
      for (int a : free_arenas) {
        bool fits = arena_bytes[a] >= need;
        if (best < 0) {
          best = a;
          continue;
        }
        bool best_fits = arena_bytes[best] >= need;
        if (fits && (!best_fits || arena_bytes[a] < arena_bytes[best])) best = a;
        if (!fits && !best_fits && arena_bytes[a] > arena_bytes[best]) best = a;
      }
      if (best < 0) {
        best = static_cast<int>(arena_bytes.size());
        arena_bytes.push_back(0);
      } else {
        free_arenas.erase(std::find(free_arenas.begin(), free_arenas.end(), best));
      }
      arena_bytes[best] = std::max(arena_bytes[best], need);
      arena_of[b] = best;
    }
    for (int b : ending[s]) free_arenas.push_back(arena_of[b]);
  }
  size_t needed = 0;
  for (size_t bytes : arena_bytes) needed += bytes;
  if (needed > arena_limit_) {
    return InvalidArgument("the activations need " + std::to_string(needed) +
                           " bytes at once, more than the " + std::to_string(arena_limit_) +
                           " bytes the memory limit leaves after the weights, inputs and outputs");
  }
  size_t total = 0;
  arenas_.clear();
  try {
    for (size_t bytes : arena_bytes) {
      arenas_.emplace_back(DType::kU8, Shape{static_cast<int64_t>(bytes)});
      total += bytes;
    }
  } catch (const std::exception& e) {
    return Internal(std::string("cannot allocate activation arenas: ") + e.what());
  }
  for (size_t b = 0; b < buffers_.size(); ++b) {
    if (arena_of[b] < 0) continue;
    for (const memory& view : buffers_[b].views) view.set_data_handle(arenas_[arena_of[b]].raw());
  }
  return total;
}

}  // namespace mixq
