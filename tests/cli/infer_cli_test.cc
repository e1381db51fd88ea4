// `mixq infer` and --input-shape through the real binary: the outputs it
// writes equal what the engine computes in this process for the same inputs
// (FP32 and INT8 with a calibration), its JSON lists the graph's outputs in
// order, a model with symbolic H and W runs at the size it is given, and
// every malformed or misfitting shape is one line with its exit code.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/npy_reader.h"
#include "common/precision_config.h"
#include "common/sha256.h"
#include "engine/onnx/onnx_importer.h"
#include "engine/passes/specialize.h"
#include "engine/quant/calibration_file.h"
#include "engine/quant/quant_spec.h"
#include "engine/runtime/executor.h"
#include "tests/cli/mixq_runner.h"
#include "tests/common/data_files.h"
#include "tests/common/shipped_files.h"
#include "tests/engine/onnx_test_util.h"
#include "tests/engine/symbolic_models.h"

namespace mixq {
namespace {

using test::CountLines;
using test::MixqResult;
using test::RunMixq;
using test::StderrTo;
using test::TempDir;

// Writes `values` as an NPY file of `shape` with descr `descr` ('<f4', '|u1',
// '<i8'), built from the format's bytes (data_files.h), not by mixq.
template <typename T>
void WriteArray(const std::string& path, const std::string& descr, const Shape& shape,
                const std::vector<T>& values) {
  std::string tuple = "(";
  for (size_t i = 0; i < shape.size(); ++i) tuple += (i ? ", " : "") + std::to_string(shape[i]);
  tuple += shape.size() == 1 ? ",)" : ")";
  test::WriteBytes(path, test::NpyBytes("{'descr': '" + descr +
                                            "', 'fortran_order': False, 'shape': " + tuple + ", }",
                                        test::LittleEndianBytes(values)));
}

std::vector<float> RandomFloats(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<float> ReadFloats(const std::string& path, Shape* shape = nullptr) {
  StatusOr<RawArray> array = ReadNpy(path);
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  if (!array.ok()) return {};
  EXPECT_EQ(array->dtype, DType::kF32);
  if (shape) *shape = array->shape;
  std::vector<float> v(array->data.size() / 4);
  std::memcpy(v.data(), array->data.data(), array->data.size());
  return v;
}

// What the engine computes in this process: `model` specialised for
// `shapes`, with `quant`, one thread (as the commands below run).
std::vector<std::vector<float>> InProcess(const std::string& model,
                                          const std::map<std::string, Shape>& shapes,
                                          const std::vector<std::vector<float>>& inputs,
                                          const QuantSpec& quant = QuantSpec()) {
  StatusOr<Graph> graph = ImportOnnx(model);
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  StatusOr<Graph> specialised = Specialize(*graph, shapes);
  EXPECT_TRUE(specialised.ok()) << specialised.status().ToString();
  ExecutorOptions options;
  options.threads = 1;
  options.quant = quant;
  auto compiled = CompiledModel::Compile(*specialised, options);
  EXPECT_TRUE(compiled.ok()) << compiled.status().ToString();
  std::vector<Tensor> tensors;
  std::vector<const Tensor*> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    tensors.emplace_back(DType::kF32, (*compiled)->input_infos()[i].shape);
    std::memcpy(tensors.back().raw(), inputs[i].data(), tensors.back().bytes());
  }
  for (const Tensor& t : tensors) ptrs.push_back(&t);
  std::vector<Tensor> outputs = (*compiled)->MakeOutputs();
  EXPECT_TRUE((*compiled)->Run(ptrs, &outputs).ok());
  std::vector<std::vector<float>> out;
  for (const Tensor& t : outputs) out.emplace_back(t.data<float>(), t.data<float>() + t.size());
  return out;
}

// `mixq infer ... --json` and its parsed report.
nlohmann::json InferJson(const std::string& args) {
  MixqResult r = RunMixq("infer --json --threads 1 " + args, StderrTo::kNull);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

// x [N,3,H,W] -> Conv 4x3x3x3 (stride 2, pad 1) -> "y/conv"; x -> Relu ->
// "y_conv": two outputs whose names clash once made file names, listed in
// that (not alphabetical) order.
std::string WriteSymbolicModel(const TempDir& dir) {
  auto model = testing::NewModel(13);
  testing::AddInput(&model, "x", {-1, 3, -1, -1});
  std::vector<float> w = RandomFloats(108, 7);
  testing::AddFloatInitializer(&model, "w", {4, 3, 3, 3}, w);
  auto* conv = testing::AddNode(&model, "Conv", {"x", "w"}, {"y/conv"}, "conv");
  testing::AddIntsAttr(conv, "pads", {1, 1, 1, 1});
  testing::AddIntsAttr(conv, "strides", {2, 2});
  testing::AddNode(&model, "Relu", {"x"}, {"y_conv"}, "relu");
  testing::AddOutput(&model, "y/conv", {-1, 4, -1, -1});
  testing::AddOutput(&model, "y_conv", {-1, 3, -1, -1});
  const std::string path = dir.Path("symbolic.onnx");
  test::WriteText(path, testing::Serialize(model));
  return path;
}

TEST(InferCli, Fp32OutputsEqualTheEngineInProcessForFloatAndUint8Inputs) {
  TempDir dir;
  StatusOr<Graph> graph = ImportOnnx(test::kFmResnet);
  ASSERT_TRUE(graph.ok());
  const std::string input = graph->inputs[0];
  const Shape shape = {3, 1, 28, 28};
  const std::vector<float> x = RandomFloats(NumElements(shape), 1);
  WriteArray(dir.Path("x.npy"), "<f4", shape, x);
  nlohmann::json j = InferJson("--model " + test::kFmResnet + " --input " + dir.Path("x.npy") +
                               " -o " + dir.Path("out"));
  ASSERT_EQ(j["outputs"].size(), graph->outputs.size());
  const std::string file = j["outputs"][0]["file"];
  EXPECT_EQ(j["outputs"][0]["name"], graph->outputs[0]);
  Shape written;
  const std::vector<float> y = ReadFloats(file, &written);
  EXPECT_EQ(written, (Shape{3, 10}));
  EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json(written));
  EXPECT_EQ(y, InProcess(test::kFmResnet, {{input, shape}}, {x})[0]);

  // uint8 pixels become the same floats (named input this time).
  std::vector<uint8_t> pixels(NumElements({1, 1, 28, 28}));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 % 256);
  WriteArray(dir.Path("p.npy"), "|u1", {1, 1, 28, 28}, pixels);
  nlohmann::json k = InferJson("--model " + test::kFmResnet + " --input " + input + "=" +
                               dir.Path("p.npy") + " -o " + dir.Path("out8"));
  const std::vector<float> as_float(pixels.begin(), pixels.end());
  EXPECT_EQ(ReadFloats(k["outputs"][0]["file"]),
            InProcess(test::kFmResnet, {{input, {1, 1, 28, 28}}}, {as_float})[0]);
}

TEST(InferCli, Int8ConfigWithCalibrationEqualsTheEngineInProcess) {
  TempDir dir;
  const std::string calibration = dir.Path("cal.json");
  MixqResult cal =
      RunMixq("calibrate --quiet --threads 1 --samples 40 --batch 20 --model " + test::kFmResnet +
              " --dataset " + test::kFashionMnistTrain + " -o " + calibration);
  ASSERT_EQ(cal.exit_code, 0) << cal.out;
  StatusOr<Graph> graph = ImportOnnx(test::kFmResnet);
  ASSERT_TRUE(graph.ok());
  const Shape shape = {2, 1, 28, 28};
  const std::vector<float> x = RandomFloats(NumElements(shape), 2);
  WriteArray(dir.Path("x.npy"), "<f4", shape, x);
  nlohmann::json j =
      InferJson("--model " + test::kFmResnet + " --input " + dir.Path("x.npy") +
                " --config int8 --calibration " + calibration + " -o " + dir.Path("out"));
  const std::vector<float> y = ReadFloats(j["outputs"][0]["file"]);

  StatusOr<Calibration> loaded = LoadCalibration(calibration);
  ASSERT_TRUE(loaded.ok());
  const PrecisionConfig config = UniformPrecisionConfig(
      Precision::kInt8, graph->QuantizableLayers(), Sha256File(test::kFmResnet).value());
  StatusOr<QuantSpec> spec = MakeQuantSpec(config, *loaded, SevenBitWeights::kNone);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const auto in_process = InProcess(test::kFmResnet, {{graph->inputs[0], shape}}, {x}, *spec);
  EXPECT_EQ(y, in_process[0]);
  // The config took effect: INT8 logits are not the FP32 ones.
  EXPECT_NE(y, InProcess(test::kFmResnet, {{graph->inputs[0], shape}}, {x})[0]);
}

TEST(InferCli, SymbolicHeightAndWidthRunAtTheGivenShapesWithOutputsInGraphOrder) {
  TempDir dir;
  const std::string model = WriteSymbolicModel(dir);
  for (const Shape& shape : {Shape{1, 3, 16, 12}, Shape{2, 3, 9, 21}}) {
    const std::vector<float> x = RandomFloats(NumElements(shape), 3);
    const std::string text = std::to_string(shape[0]) + "x3x" + std::to_string(shape[2]) + "x" +
                             std::to_string(shape[3]);
    WriteArray(dir.Path(text + ".npy"), "<f4", shape, x);
    const std::string out = dir.Path("out-" + text);
    nlohmann::json j = InferJson("--model " + model + " --input " + dir.Path(text + ".npy") +
                                 " --input-shape " + text + " -o " + out);
    ASSERT_EQ(j["outputs"].size(), 2u) << j.dump();
    // Graph order; '/' made '_', and the clash resolved with _2.
    EXPECT_EQ(j["outputs"][0]["name"], "y/conv");
    EXPECT_EQ(j["outputs"][0]["file"], out + "/y_conv.npy");
    EXPECT_EQ(j["outputs"][1]["name"], "y_conv");
    EXPECT_EQ(j["outputs"][1]["file"], out + "/y_conv_2.npy");
    // (n + 2 * pad - kernel) / stride + 1, and Relu keeps the input's shape.
    const Shape conv = {shape[0], 4, (shape[2] - 1) / 2 + 1, (shape[3] - 1) / 2 + 1};
    EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json(conv));
    EXPECT_EQ(j["outputs"][1]["shape"], nlohmann::json(shape));
    const auto expected = InProcess(model, {{"x", shape}}, {x});
    EXPECT_EQ(ReadFloats(out + "/y_conv.npy"), expected[0]);
    EXPECT_EQ(ReadFloats(out + "/y_conv_2.npy"), expected[1]);
  }
  // Without --input-shape the NPY array's shape is the one.
  WriteArray(dir.Path("plain.npy"), "<f4", {1, 3, 5, 7}, RandomFloats(105, 4));
  nlohmann::json j = InferJson("--model " + model + " --input " + dir.Path("plain.npy") + " -o " +
                               dir.Path("plain"));
  EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json({1, 4, 3, 4}));
}

TEST(InferCli, TextReportPrintsTheMappingOfOutputsToFiles) {
  TempDir dir;
  const std::string model = WriteSymbolicModel(dir);
  WriteArray(dir.Path("x.npy"), "<i8", {1, 3, 4, 4}, std::vector<int64_t>(48, 2));
  MixqResult r = RunMixq("infer --model " + model + " --input x=" + dir.Path("x.npy") + " -o " +
                         dir.Path("out"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("input      'x' [1,3,4,4] int64 <- " + dir.Path("x.npy")), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("output     'y/conv' [1,4,2,2] -> " + dir.Path("out") + "/y_conv.npy"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("output     'y_conv' [1,3,4,4] -> " + dir.Path("out") + "/y_conv_2.npy"),
            std::string::npos)
      << r.out;
  // int64 2s became float 2s, and Relu passed them through.
  EXPECT_EQ(ReadFloats(dir.Path("out") + "/y_conv_2.npy"), std::vector<float>(48, 2.f));
}

// One line on stderr (merged) starting "mixq <command>: ", and the exit code.
void ExpectOneLine(const std::string& args, int code, const std::string& says) {
  MixqResult r = RunMixq(args);
  EXPECT_EQ(r.exit_code, code) << args << "\n" << r.out;
  EXPECT_EQ(CountLines(r.out), 1) << args << "\n" << r.out;
  EXPECT_EQ(r.out.rfind("mixq ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(says), std::string::npos) << args << "\n" << r.out;
}

TEST(InferCli, MalformedInputShapesAreUsageErrorsOnEveryCommand) {
  TempDir dir;
  const std::string model = WriteSymbolicModel(dir);
  WriteArray(dir.Path("x.npy"), "<f4", {1, 3, 4, 4}, std::vector<float>(48, 1.f));
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"1x3xAx4", "'1x3xAx4': 'A' is not an integer in [1, 2^31 - 1]"},
      {"0x3x4x4", "'0x3x4x4': '0' is not an integer"},
      {"=-1x3x4x4", "'-1x3x4x4': '-1' is not an integer"},
      {"1x1x1x1x1x1x1x1x1x1x1x1x1", "'1x1x1x1x1x1x1x1x1x1x1x1x1' has more than 12 dims"},
      {"1x3x99999999999x4",
       "'1x3x99999999999x4': '99999999999' is not an integer in [1, 2^31 - 1]"},
  };
  for (const auto& [text, says] : bad) {
    const std::string flag = text[0] == '=' ? " --input-shape" + text : " --input-shape " + text;
    ExpectOneLine(
        "infer --model " + model + " --input " + dir.Path("x.npy") + " -o " + dir.Path("o") + flag,
        2, "mixq infer: --input-shape: " + says);
    ExpectOneLine("bench --model " + model + flag, 2, "mixq bench: --input-shape: " + says);
  }
  // Every command that runs a model takes the option.
  for (const char* command :
       {"eval", "infer", "bench", "profile", "calibrate", "search", "export"}) {
    MixqResult help = RunMixq(std::string(command) + " --help");
    EXPECT_NE(help.out.find("--input-shape"), std::string::npos) << command;
  }
}

TEST(InferCli, ShapesThatDoNotFitTheModelAreOneLineErrors) {
  TempDir dir;
  const std::string model = WriteSymbolicModel(dir);
  WriteArray(dir.Path("x.npy"), "<f4", {1, 3, 4, 4}, std::vector<float>(48, 1.f));
  const std::string infer =
      "infer --model " + model + " --input " + dir.Path("x.npy") + " -o " + dir.Path("o");
  ExpectOneLine(infer + " --input-shape images:1x3x4x4", 2,
                "mixq infer: --input-shape: 'images' is not an input of the model (its inputs: "
                "'x')");
  ExpectOneLine(infer + " --input-shape 1x4x4x4", 2,
                "mixq infer: --input-shape: input 'x' is declared [?,3,?,?]; the given "
                "[1,4,4,4] does not fit (dim 1 is 3)");
  ExpectOneLine(infer + " --input-shape 1x3x4", 2, "the given [1,3,4] does not fit");
  ExpectOneLine(infer + " --input-shape 1x3x8x8", 1,
                "mixq infer: " + dir.Path("x.npy") +
                    " holds a [1,3,4,4] array but --input-shape gives input 'x' [1,3,8,8]");
  ExpectOneLine(
      "infer --model " + model + " --input y=" + dir.Path("x.npy") + " -o " + dir.Path("o"), 2,
      "'y' is not an input of the model (its inputs: 'x')");
  WriteArray(dir.Path("bad.npy"), "<f4", {1, 2, 4, 4}, std::vector<float>(32, 1.f));
  ExpectOneLine(
      "infer --model " + model + " --input " + dir.Path("bad.npy") + " -o " + dir.Path("o"), 1,
      dir.Path("bad.npy") + ": input 'x' is declared [?,3,?,?]; the given [1,2,4,4] does not fit");
  // Without a shape a symbolic model cannot run; with one it does.
  const std::string bench =
      "bench --model " + model + " --warmup 0 --min-iterations 1 --min-seconds 0";
  EXPECT_EQ(RunMixq(bench).exit_code, 1);
  MixqResult ran = RunMixq(bench + " --input-shape 1x3x8x8 --json", StderrTo::kNull);
  ASSERT_EQ(ran.exit_code, 0) << ran.out;
  nlohmann::json rows = nlohmann::json::parse(ran.out);
  ASSERT_EQ(rows.size(), 1u);  // the batch --input-shape gives, not 1,16
  EXPECT_EQ(rows[0]["batch"], 1);
}

TEST(InferCli, BatchInInputShapeMustAgreeWithAnExplicitBatch) {
  TempDir dir;
  const std::string model = WriteSymbolicModel(dir);
  const std::string bench =
      "bench --model " + model + " --warmup 0 --min-iterations 1 --min-seconds 0 --json";
  ExpectOneLine(bench + " --input-shape 1x3x8x8 --batch 4", 2,
                "mixq bench: --input-shape gives input 'x' batch 1 but --batch is 4: give the "
                "same batch to both, or leave --batch out");
  ExpectOneLine(bench + " --input-shape x:2x3x8x8 --batch 2,16", 2, "but --batch is 2,16");
  ExpectOneLine("profile --model " + model + " --input-shape 1x3x8x8 --batch 3", 2,
                "mixq profile: --input-shape gives input 'x' batch 1 but --batch is 3");
  MixqResult agree = RunMixq(bench + " --input-shape 2x3x8x8 --batch 2,2", StderrTo::kNull);
  ASSERT_EQ(agree.exit_code, 0) << agree.out;
  nlohmann::json rows = nlohmann::json::parse(agree.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["batch"], 2);
}

TEST(InferCli, EvalTakesADatasetsInputShapeAndTheCommandLinesOverIt) {
  TempDir dir;
  const std::string model = dir.Path("classifier.onnx");
  test::WriteText(model, testing::SymbolicClassifier());
  // The shipped test set (absolute paths) with an input_shape of its own.
  auto with_shape = [&](const std::string& name, const std::string& input_shape) {
    std::ifstream shipped(test::kFashionMnistTest);
    std::ofstream(dir.Path(name)) << shipped.rdbuf() << "\ninput_shape: " << input_shape << "\n";
    return dir.Path(name);
  };
  StatusOr<EvalCounts> counts = testing::FixedClassifierCounts(model, 100, 25);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();

  const std::string eval = "eval -q --json --threads 1 --count 100 --batch 25 --model " + model;
  MixqResult fits = RunMixq(eval + " --dataset " + with_shape("fits.yaml", "{x: [1, 1, 28, 28]}"),
                            StderrTo::kNull);
  ASSERT_EQ(fits.exit_code, 0) << fits.out;
  EXPECT_EQ(nlohmann::json::parse(fits.out)["correct1"], counts->correct1);
  // A dataset shape its samples do not fit fails the work; --input-shape wins.
  const std::string wrong = with_shape("wrong.yaml", "[1, 1, 32, 32]");
  ExpectOneLine(eval + " --dataset " + wrong, 1, "gives samples [1,28,28]");
  MixqResult over =
      RunMixq(eval + " --dataset " + wrong + " --input-shape 25x1x28x28", StderrTo::kNull);
  ASSERT_EQ(over.exit_code, 0) << over.out;
  EXPECT_EQ(nlohmann::json::parse(over.out)["correct1"], counts->correct1);
  ExpectOneLine(eval + " --dataset " + with_shape("unknown.yaml", "{images: [1, 1, 28, 28]}"), 1,
                "unknown.yaml: 'input_shape': 'images' is not an input of the model (its inputs: "
                "'x')");
}

}  // namespace
}  // namespace mixq
