// Typed reads of a YAML file's fields for the parsers of user files (job
// files, a search job's sections): every error is one InvalidArgument line
// that starts with the file and names the key by its dotted path, e.g.
// "jobs/x.yaml: 'data.evaluation.count' must be >= 1". yaml-cpp's exceptions
// are caught here and become such errors. EmitInputShapes() writes what
// InputShapeMap() reads, for the job files mixq writes itself.
#ifndef MIXQ_COMMON_YAML_FIELDS_H_
#define MIXQ_COMMON_YAML_FIELDS_H_

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

#include "common/input_shapes.h"
#include "common/status.h"

namespace mixq {

class YamlFields {
 public:
  // `source` starts every message (a file name, or "<submitted job>").
  explicit YamlFields(std::string source) : source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  Status Error(const std::string& message) const;

  // `map` must be a mapping whose keys are all `allowed`; `prefix` is its
  // dotted path followed by '.', or "" for the top level.
  Status CheckKeys(const YAML::Node& map, const std::string& prefix,
                   std::initializer_list<std::string_view> allowed) const;
  StatusOr<std::string> String(const YAML::Node& node, const std::string& path) const;
  // An integer in [min, max]; "'path' must be >= min" or "'path' must be
  // <= max (the limit)" otherwise.
  StatusOr<int64_t> Int(const YAML::Node& node, const std::string& path, int64_t min,
                        int64_t max = std::numeric_limits<int64_t>::max()) const;
  StatusOr<double> Number(const YAML::Node& node, const std::string& path) const;
  StatusOr<bool> Bool(const YAML::Node& node, const std::string& path) const;
  // `input_shape` (common/input_shapes.h): one shape for the first input,
  // as a list of dims ([1, 3, 640, 640]) or text ("1x3x640x640"), or a
  // mapping from input names to such shapes.
  StatusOr<InputShapes> InputShapeMap(const YAML::Node& node, const std::string& path) const;

 private:
  std::string source_;
};

// Refuses a mapping anywhere in `root` that repeats a key, naming its dotted
// path and line: yaml-cpp keeps both entries and a lookup finds the first,
// so `count: 10` after `count: 1000` would be silently ignored. `source`
// starts the message, e.g. "jobs/x.yaml: duplicate key 'data.evaluation.count'
// (line 7)".
Status CheckNoDuplicateKeys(const YAML::Node& root, const std::string& source);

// `shapes` as the value of an `input_shape` key: a list of dims for the
// first input (key ""), else a mapping from input names to lists of dims.
// `shapes` must not mix the two (InputShapeMap() never gives such a mix and
// resolved shapes have no ""): the first input's entry would be left out.
void EmitInputShapes(const InputShapes& shapes, YAML::Emitter* out);

}  // namespace mixq

#endif  // MIXQ_COMMON_YAML_FIELDS_H_
