#include "engine/runtime/memory_limit.h"

#include <unistd.h>

#include <cstdio>
#include <unordered_set>

namespace mixq {
namespace {

// Bytes of a tensor of `info`, or -1 when a dim is unknown. Shapes passed
// CheckTensorSize() in shape inference, so the product does not overflow.
int64_t TensorBytes(const ValueInfo& info) {
  for (int64_t d : info.shape) {
    if (d < 0) return -1;
  }
  return NumElements(info.shape) * static_cast<int64_t>(DTypeSize(info.dtype));
}

std::string Describe(const std::string& name, const ValueInfo& info, size_t bytes) {
  return "'" + name + "' (" + DTypeName(info.dtype) + " " + ShapeToString(info.shape) + ", " +
         FormatBytes(bytes) + ")";
}

std::string LimitText(size_t limit) {
  return "the memory limit of " + FormatBytes(limit) + " (ExecutorOptions::max_memory_bytes)";
}

}  // namespace

size_t DefaultMemoryLimit() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return size_t{1} << 30;
  return static_cast<size_t>(pages) / 2 * static_cast<size_t>(page_size);
}

std::string FormatBytes(size_t bytes) {
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double value = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 3) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f %s", value, units[unit]);
  return text;
}

std::string DescribeLargestTensor(const Graph& graph) {
  const std::string* name = nullptr;
  const ValueInfo* info = nullptr;
  int64_t largest = -1;
  for (const auto& [value, value_info] : graph.values) {
    const int64_t bytes = TensorBytes(value_info);
    // Ties go to the smaller name, so the message does not depend on the
    // map's order.
    if (bytes > largest || (bytes == largest && bytes >= 0 && value < *name)) {
      largest = bytes;
      name = &value;
      info = &value_info;
    }
  }
  if (largest < 0) return "";
  return Describe(*name, *info, static_cast<size_t>(largest));
}

StatusOr<size_t> CheckMemoryLimit(const Graph& graph, size_t limit) {
  for (const auto& [value, info] : graph.values) {
    const int64_t bytes = TensorBytes(info);
    if (bytes > 0 && static_cast<size_t>(bytes) > limit) {
      return InvalidArgument("tensor " + DescribeLargestTensor(graph) + " needs more than " +
                             LimitText(limit));
    }
  }
  std::unordered_set<std::string> held;
  for (const auto& [name, tensor] : graph.constants) held.insert(name);
  held.insert(graph.inputs.begin(), graph.inputs.end());
  held.insert(graph.outputs.begin(), graph.outputs.end());
  size_t total = 0;
  for (const std::string& name : held) {
    const ValueInfo* info = graph.FindValue(name);
    int64_t bytes = info != nullptr ? TensorBytes(*info) : -1;
    auto constant = graph.constants.find(name);
    if (bytes < 0 && constant != graph.constants.end()) {
      bytes = static_cast<int64_t>(constant->second.bytes());
    }
    if (bytes > 0) total += static_cast<size_t>(bytes);
  }
  if (total > limit) {
    return InvalidArgument("the model's weights, inputs and outputs need " + FormatBytes(total) +
                           ", more than " + LimitText(limit) + "; the largest tensor is " +
                           DescribeLargestTensor(graph));
  }
  return total;
}

}  // namespace mixq
