// `mixq infer`: runs a model once, in any precision config, on inputs read
// from NPY files and writes each graph output to DIR/<output name>.npy
// (float32), the tool for comparing mixq's numbers with another runtime's.
// An input's shape is its NPY array's (so a model with symbolic H and W runs
// at the array's size) and must equal --input-shape where that gives one;
// its values are converted to the model input's dtype. Output names become
// file names (characters other than letters, digits, '.', '_' and '-'
// replaced by '_'; clashes get _2, _3, ...), and the mapping is printed.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/input_shape_option.h"
#include "cli/quant_setup.h"
#include "common/npy_reader.h"
#include "common/npy_writer.h"
#include "engine/onnx/qdq_import.h"
#include "engine/passes/input_shapes.h"
#include "engine/passes/specialize.h"
#include "engine/runtime/executor.h"

namespace mixq {
namespace {

namespace fs = std::filesystem;
namespace po = boost::program_options;

struct InferCommandOptions {
  std::string model;
  std::map<std::string, std::string> inputs;  // input name ("" = the first) -> NPY file
  std::string output_dir;
  bool json = false;
  EngineOptions engine;
  QuantArgs quant;           // INT8 layers need quant.calibration
  InputShapes input_shapes;  // --input-shape: what each input's NPY shape must be
};

// An input's data: the NPY file it came from and its array.
struct InputFile {
  std::string path;
  RawArray array;
};

// The NPY array as a tensor of `dtype` (the model input's), element by
// element: integers through int64, floats through double.
StatusOr<Tensor> ConvertArray(const InputFile& file, DType dtype) {
  if (dtype == DType::kF16) {
    return Unimplemented(file.path + ": the model input is float16, which infer does not feed");
  }
  Tensor raw(file.array.dtype, file.array.shape);
  if (raw.bytes() > 0) std::memcpy(raw.raw(), file.array.data.data(), raw.bytes());
  if (dtype == file.array.dtype) return raw;
  Tensor out(dtype, file.array.shape);
  const bool integer = !IsFloatingPoint(file.array.dtype);
  for (int64_t i = 0; i < raw.size(); ++i) {
    if (integer) {
      out.SetFromInt(i, raw.IntAt(i));
    } else {
      out.SetFromDouble(i, raw.FloatAt(i));
    }
  }
  return out;
}

// `name` as a file name: letters, digits, '.', '_' and '-' kept, anything
// else '_', no leading '.'; "output" when nothing is left.
std::string SafeFileName(const std::string& name) {
  std::string safe;
  for (char c : name) {
    const bool keep =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    safe += keep ? c : '_';
  }
  if (!safe.empty() && safe[0] == '.') safe[0] = '_';
  return safe.empty() ? "output" : safe;
}

// One file name per output, in order, distinct even on a file system that
// ignores case: a clash gets _2, _3, ... before ".npy".
std::vector<std::string> OutputFileNames(const std::vector<std::string>& outputs) {
  std::set<std::string> taken;  // lower case
  std::vector<std::string> files;
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const std::string& output : outputs) {
    const std::string stem = SafeFileName(output);
    std::string file = stem + ".npy";
    for (int n = 2; !taken.insert(lower(file)).second; ++n) {
      file = stem + "_" + std::to_string(n) + ".npy";
    }
    files.push_back(file);
  }
  return files;
}

// The model's input names the --input files are for, checked: every input
// has one, none is unknown (both usage errors).
std::map<std::string, InputFile> NameInputs(const Graph& graph,
                                            std::map<std::string, InputFile> files) {
  if (graph.inputs.empty()) throw po::error("--input: the model has no inputs");
  std::map<std::string, InputFile> named;
  for (auto& [key, file] : files) {
    const std::string name = key.empty() ? graph.inputs.at(0) : key;
    if (std::find(graph.inputs.begin(), graph.inputs.end(), name) == graph.inputs.end()) {
      std::string list;
      for (const std::string& input : graph.inputs)
        list += (list.empty() ? "'" : ", '") + input + "'";
      throw po::error("--input " + key + "=" + file.path + ": '" + key +
                      "' is not an input of the model (its inputs: " + list + ")");
    }
    if (named.count(name)) {
      throw po::error("--input: input '" + name + "' is given twice (by name and as the first)");
    }
    named[name] = std::move(file);
  }
  for (const std::string& input : graph.inputs) {
    if (!named.count(input)) {
      throw po::error("no --input for the model's input '" + input + "' (give --input " + input +
                      "=FILE.npy)");
    }
  }
  return named;
}

// The shapes to run at: each NPY array's, which must fit the model and equal
// --input-shape where that names the input.
StatusOr<InputShapes> RunShapes(const Graph& graph, const std::map<std::string, InputFile>& files,
                                const InputShapes& option) {
  StatusOr<InputShapes> given = ResolveInputShapes(graph, option);
  if (!given.ok()) throw po::error("--input-shape: " + given.status().message());
  InputShapes shapes;
  for (const auto& [name, file] : files) {
    auto it = given->find(name);
    if (it != given->end() && it->second != file.array.shape) {
      return InvalidArgument(file.path + " holds a " + ShapeToString(file.array.shape) +
                             " array but --input-shape gives input '" + name + "' " +
                             ShapeToString(it->second));
    }
    StatusOr<InputShapes> fits = ResolveInputShapes(graph, {{name, file.array.shape}});
    if (!fits.ok()) return fits.status().WithContext(file.path);
    shapes[name] = file.array.shape;
  }
  return shapes;
}

Status RunInfer(const InferCommandOptions& options, std::ostream& out) {
  MIXQ_RETURN_IF_ERROR(ApplyEngineOptions(options.engine));
  // A QDQ model runs with the spec it embeds unless --config says otherwise.
  MIXQ_ASSIGN_OR_RETURN(QdqModel model, ImportOnnxWithQdq(options.model));
  Graph& graph = model.graph;
  std::map<std::string, InputFile> files;
  for (const auto& [key, path] : options.inputs) {
    MIXQ_ASSIGN_OR_RETURN(RawArray array, ReadNpy(path));
    files[key] = InputFile{path, std::move(array)};
  }
  files = NameInputs(graph, std::move(files));
  MIXQ_ASSIGN_OR_RETURN(const InputShapes shapes, RunShapes(graph, files, options.input_shapes));
  // Fixed first, so that the config's checks specialise the same model.
  MIXQ_RETURN_IF_ERROR(FixInputShapes(shapes, &graph));
  MIXQ_ASSIGN_OR_RETURN(ResolvedQuant quant, ResolveQuant(options.quant, options.model, graph,
                                                          false, options.engine.threads,
                                                          model.has_qdq ? &model.spec : nullptr));
  MIXQ_ASSIGN_OR_RETURN(Graph specialised, Specialize(graph, shapes));
  ExecutorOptions executor;
  executor.threads = options.engine.threads;
  executor.winograd = options.engine.winograd;
  executor.quant = quant.spec;
  MIXQ_ASSIGN_OR_RETURN(std::unique_ptr<CompiledModel> compiled,
                        CompiledModel::Compile(specialised, executor));
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < compiled->input_names().size(); ++i) {
    const InputFile& file = files.at(compiled->input_names()[i]);
    MIXQ_ASSIGN_OR_RETURN(Tensor t, ConvertArray(file, compiled->input_infos()[i].dtype));
    inputs.push_back(std::move(t));
  }
  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  std::vector<Tensor> outputs = compiled->MakeOutputs();
  MIXQ_RETURN_IF_ERROR(compiled->Run(input_ptrs, &outputs));

  std::error_code ec;
  fs::create_directories(options.output_dir, ec);
  if (ec) return NotFound(options.output_dir + ": cannot create the folder: " + ec.message());
  const std::vector<std::string>& names = compiled->output_names();
  const std::vector<std::string> file_names = OutputFileNames(names);
  nlohmann::json listed = nlohmann::json::array();
  if (!options.json) {
    out << "model      " << options.model << "\n";
    out << "precision  " << quant.Summary() << "\n";
    for (const auto& [name, file] : files) {
      out << "input      '" << name << "' " << ShapeToString(file.array.shape) << " "
          << DTypeName(file.array.dtype) << " <- " << file.path << "\n";
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string path = (fs::path(options.output_dir) / file_names[i]).string();
    MIXQ_RETURN_IF_ERROR(WriteNpy(path, outputs[i]));
    listed.push_back({{"name", names[i]}, {"file", path}, {"shape", outputs[i].shape()}});
    if (!options.json) {
      out << "output     '" << names[i] << "' " << ShapeToString(outputs[i].shape()) << " -> "
          << path << "\n";
    }
  }
  if (options.json) out << nlohmann::json{{"outputs", listed}}.dump() << "\n";
  return Status::Ok();
}

}  // namespace

int InferMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  InferCommandOptions o;
  po::options_description desc("mixq infer: run a model on NPY inputs and write its outputs");
  desc.add_options()("model", po::value<std::string>(&o.model)->required(), "ONNX model file")(
      "input",
      po::value<std::vector<std::string>>()->required()->composing()->notifier(
          [&o](const std::vector<std::string>& items) {
            for (const std::string& item : items) {
              // NAME=FILE (split at the first '='), or FILE for the first input.
              const size_t eq = item.find('=');
              const std::string name = eq == std::string::npos ? "" : item.substr(0, eq);
              const std::string path = eq == std::string::npos ? item : item.substr(eq + 1);
              if (path.empty() || (eq != std::string::npos && name.empty())) {
                throw po::error("--input '" + item + "': give FILE.npy or NAME=FILE.npy");
              }
              if (!o.inputs.emplace(name, path).second) {
                throw po::error(name.empty() ? "--input: the first input is given twice"
                                             : "--input: input '" + name + "' is given twice");
              }
            }
          }),
      "an input as NPY (float32, uint8, int64; also float64, int8, int32): FILE.npy for the "
      "first input, NAME=FILE.npy for any; repeatable")(
      "output,o", po::value<std::string>(&o.output_dir)->required(),
      "folder for the outputs, one <output name>.npy (float32) each")(
      "json", po::bool_switch(&o.json),
      "print {\"outputs\": [{\"name\", \"file\", \"shape\"}, ...]} in graph output order");
  AddEngineOptions(&desc, &o.engine);
  AddQuantOptions(&desc, &o.quant);
  AddInputShapeOption(&desc, &o.input_shapes, false);
  if (!ParseCommandLine("infer", desc, args, out)) return 0;
  return ExitCode("infer", RunInfer(o, out), err);
}

}  // namespace mixq
