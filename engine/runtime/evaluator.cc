#include "engine/runtime/evaluator.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>

#include "engine/passes/specialize.h"
#include "engine/runtime/input_feed.h"
#include "engine/runtime/task_scorer.h"

namespace mixq {
namespace {

// Compiled models by batch size: the full batch and, at most, one remainder.
class ModelCache {
 public:
  ModelCache(const Graph& graph, const ExecutorOptions& options)
      : graph_(graph), options_(options) {}

  StatusOr<CompiledModel*> Get(int64_t batch) {
    auto it = models_.find(batch);
    if (it != models_.end()) return it->second.get();
    MIXQ_ASSIGN_OR_RETURN(Graph specialised, SpecializeForBatch(graph_, batch));
    MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModel> model,
                          CompiledModel::Compile(specialised, options_));
    if (model->output_infos().empty()) {
      return InvalidArgument(graph_.source + ": evaluation needs a model with an output");
    }
    CompiledModel* raw = model.get();
    models_[batch] = std::move(model);
    return raw;
  }

 private:
  const Graph& graph_;
  ExecutorOptions options_;
  std::map<int64_t, std::unique_ptr<CompiledModel>> models_;
};

}  // namespace

StatusOr<double> MetricPoints(const EvalCounts& counts, EvalMetric metric) {
  if (counts.samples == 0) return InvalidArgument("empty evaluation slice");
  double value = -1;
  switch (metric) {
    case EvalMetric::kTop1:
    case EvalMetric::kTop5:
      if (!counts.classified) break;
      // 100 * count / samples, in this order: the distributed search computes
      // the same expression, and a different rounding would move a drop
      // across a budget on one side only.
      return 100.0 *
             static_cast<double>(metric == EvalMetric::kTop1 ? counts.correct1 : counts.correct5) /
             static_cast<double>(counts.samples);
    case EvalMetric::kMap50:
    case EvalMetric::kMap50_95:
      if (!counts.detection) break;
      value =
          metric == EvalMetric::kMap50 ? counts.detection->Map50() : counts.detection->Map50_95();
      break;
    case EvalMetric::kMiou:
      if (counts.segmentation) value = counts.segmentation->MeanIoU();
      break;
  }
  if (value < 0) {
    return InvalidArgument(std::string("the evaluation did not measure ") + EvalMetricName(metric) +
                           " (a metric of another dataset task, or nothing to count)");
  }
  return 100.0 * value;
}

StatusOr<EvalCounts> Evaluate(const Graph& graph, const Dataset& dataset,
                              const EvalOptions& options) {
  MIXQ_ASSIGN_OR_RETURN(const std::vector<ModelInput> inputs, ModelInputsOf(graph));
  MIXQ_RETURN_IF_ERROR(dataset.CheckFits(inputs, graph.source));
  if (options.batch <= 0) return InvalidArgument("batch size must be positive");
  if (dataset.spec().task.kind == TaskSpec::Kind::kUnlabelled && !options.fidelity) {
    return InvalidArgument(dataset.spec().source +
                           ": an unlabelled dataset measures a quantised config against FP32 "
                           "(fidelity, agreement), and there is no quantised layer to measure");
  }

  const int64_t begin = options.begin;
  const int64_t count = options.count < 0 ? dataset.size() - begin : options.count;
  if (begin < 0 || count < 0 || begin + count > dataset.size()) {
    return OutOfRange("samples [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                      ") outside the dataset's " + std::to_string(dataset.size()));
  }

  if (options.reference_top1 != nullptr &&
      static_cast<int64_t>(options.reference_top1->size()) != count) {
    return InvalidArgument(
        "reference top-1 classes: " + std::to_string(options.reference_top1->size()) + " for " +
        std::to_string(count) + " samples");
  }
  if (options.top1 != nullptr) options.top1->clear();

  ModelCache cache(graph, options.executor);
  // The FP32 run that fidelity compares against: the same executor options
  // (threads, Winograd) without quantised layers.
  ExecutorOptions fp32_options = options.executor;
  fp32_options.quant = QuantSpec();
  ModelCache reference_cache(graph, fp32_options);
  std::vector<Tensor> reference_outputs;
  int64_t reference_batch = -1;
  std::unique_ptr<TaskScorer> scorer;  // detection and segmentation datasets
  EvalCounts counts;
  if (options.reference_top1 != nullptr || options.fidelity) counts.agree1 = 0;
  std::vector<int64_t> labels;
  std::vector<Tensor> batch_data;
  std::vector<const Tensor*> batch_ptrs;
  std::vector<Tensor> outputs;
  int64_t outputs_batch = -1;
  auto start = std::chrono::steady_clock::now();
  for (int64_t done = 0; done < count;) {
    const int64_t n = std::min(options.batch, count - done);
    MIXQ_ASSIGN_OR_RETURN(CompiledModel * model, cache.Get(n));
    if (outputs_batch != n) {
      outputs = model->MakeOutputs();
      batch_data.clear();
      for (const ValueInfo& info : model->input_infos())
        batch_data.emplace_back(info.dtype, info.shape);
      outputs_batch = n;
    }
    MIXQ_RETURN_IF_ERROR(dataset.Fill(begin + done, n, inputs, &batch_data, &labels));
    batch_ptrs.clear();
    for (const Tensor& t : batch_data) batch_ptrs.push_back(&t);
    MIXQ_RETURN_IF_ERROR(model->Run(batch_ptrs, &outputs));
    if (options.fidelity) {
      MIXQ_ASSIGN_OR_RETURN(CompiledModel * reference, reference_cache.Get(n));
      if (reference_batch != n) {
        reference_outputs = reference->MakeOutputs();
        reference_batch = n;
      }
      MIXQ_RETURN_IF_ERROR(reference->Run(batch_ptrs, &reference_outputs));
      MIXQ_RETURN_IF_ERROR(counts.fidelity.Add(model->output_names(), reference_outputs, outputs)
                               .WithContext(graph.source));
    }
    const TaskSpec::Kind task = dataset.spec().task.kind;
    if (task == TaskSpec::Kind::kDetection || task == TaskSpec::Kind::kSegmentation) {
      if (!scorer) {
        // The image input's height and width map boxes back to each image.
        const Shape& in = model->input_infos()[0].shape;
        const bool nhwc = dataset.spec().preprocess.layout == Preprocess::Layout::kNhwc;
        if (in.size() != 4)
          return InvalidArgument(graph.source + ": a task model takes [N,C,H,W] images");
        MIXQ_ASSIGN_OR_RETURN(
            scorer, TaskScorer::Make(dataset, nhwc ? in[1] : in[2], nhwc ? in[2] : in[3]));
      }
      MIXQ_RETURN_IF_ERROR(scorer->Add(begin + done, outputs));
      counts.classified = false;
      counts.agree1 = -1;  // no class scores to agree on
      done += n;
      counts.samples = done;
      if (options.progress) options.progress(done, count);
      continue;
    }
    const Tensor& logits = outputs[0];
    if (logits.rank() != 2 || logits.shape()[0] != n || logits.dtype() != DType::kF32) {
      if (options.fidelity) {
        counts.classified = false;
        done += n;
        counts.samples = done;
        if (options.progress) options.progress(done, count);
        continue;
      }
      return InvalidArgument(graph.source + ": output '" + model->output_names()[0] +
                             "' has shape " + ShapeToString(logits.shape()) +
                             ", expected [N, classes]");
    }
    const int64_t classes = logits.shape()[1];
    const float* p = logits.data<float>();
    // Without labels only the agreement with FP32 counts.
    const bool labelled = task != TaskSpec::Kind::kUnlabelled;
    if (!labelled) counts.classified = false;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t label = labelled ? labels[i] : 0;
      if (label < 0 || label >= classes) {
        return InvalidArgument("label " + std::to_string(label) + " of sample " +
                               std::to_string(begin + done + i) + " is outside the model's " +
                               std::to_string(classes) + " classes");
      }
      const float* row = p + i * classes;
      // Rank of the true class, ties going to the lower index as in argmax
      // (PyTorch's reference accuracy uses argmax).
      int64_t higher = 0;
      for (int64_t c = 0; c < classes; ++c) {
        if (row[c] > row[label] || (row[c] == row[label] && c < label)) ++higher;
      }
      if (labelled && higher == 0) ++counts.correct1;
      if (labelled && higher < 5) ++counts.correct5;
      if (options.top1 != nullptr || options.reference_top1 != nullptr || options.fidelity) {
        // Argmax, ties to the lower index as above.
        const int32_t top = static_cast<int32_t>(std::max_element(row, row + classes) - row);
        if (options.top1 != nullptr) options.top1->push_back(top);
        if (options.reference_top1 != nullptr) {
          if ((*options.reference_top1)[done + i] == top) ++counts.agree1;
        } else if (options.fidelity) {
          // FP32's top-1 from the run beside this one.
          const float* ref = reference_outputs[0].data<float>() + i * classes;
          if (std::max_element(ref, ref + classes) - ref == top) ++counts.agree1;
        }
      }
    }
    done += n;
    counts.samples = done;
    if (options.progress) options.progress(done, count);
  }
  counts.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (scorer) {
    counts.detection = scorer->detection();
    counts.segmentation = scorer->segmentation();
  }
  return counts;
}

}  // namespace mixq
