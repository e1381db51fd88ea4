// `mixq infer` on the torch transformer exports of tests/data/transformer
// (scripts/transformer_exports.py testdata), as a user compares mixq with
// another runtime: int64 token ids, masks and token types given by name,
// outputs within 1e-3 of torch's (relative to their largest magnitude), at
// the arrays' shapes and at the same shapes fixed with --input-shape; and
// int32 files fed to the int64 inputs give the same numbers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "common/npy_reader.h"
#include "tests/cli/mixq_runner.h"
#include "tests/common/data_files.h"

namespace mixq {
namespace {

using test::MixqResult;
using test::RunMixq;
using test::StderrTo;
using test::TempDir;

const std::string kDir = std::string(MIXQ_SOURCE_DIR) + "/tests/data/transformer/";

struct ExportCase {
  std::string name;
  std::vector<std::string> inputs;
};

const std::vector<ExportCase> kCases = {
    {"encoder_pad_o13", {"input_ids", "attention_mask"}},
    {"bert_decomposed_o13", {"input_ids", "attention_mask", "token_type_ids"}},
    {"bert_layernorm_o17", {"input_ids", "attention_mask"}},
};

// Names a case in test listings (gtest would print its bytes).
void PrintTo(const ExportCase& c, std::ostream* os) { *os << c.name; }

RawArray Read(const std::string& path) {
  StatusOr<RawArray> array = ReadNpy(path);
  EXPECT_TRUE(array.ok()) << array.status().ToString();
  return array.ok() ? *array : RawArray();
}

std::vector<double> Values(const RawArray& a) {
  Tensor t(a.dtype, a.shape);
  if (t.bytes() > 0) std::memcpy(t.raw(), a.data.data(), t.bytes());
  std::vector<double> v(t.size());
  for (int64_t i = 0; i < t.size(); ++i) v[i] = t.FloatAt(i);
  return v;
}

// Runs `mixq infer` with `inputs` and compares every output it lists with
// torch's NPY of the same name.
void InferMatchesTorch(const std::string& name, const std::string& inputs,
                       const std::string& extra) {
  TempDir dir;
  MixqResult r = RunMixq("infer --json --threads 1 --model " + kDir + name + ".onnx " + inputs +
                             " -o " + dir.Path("out") + extra,
                         StderrTo::kNull);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_EQ(j["outputs"].size(), 2u);
  for (const nlohmann::json& output : j["outputs"]) {
    const std::string output_name = output["name"];
    const RawArray got = Read(output["file"]);
    const RawArray want = Read(kDir + name + "." + output_name + ".npy");
    ASSERT_EQ(got.shape, want.shape) << output_name;
    const std::vector<double> g = Values(got);
    const std::vector<double> w = Values(want);
    double diff = 0.0;
    double scale = 0.0;
    for (size_t i = 0; i < w.size(); ++i) {
      diff = std::max(diff, std::abs(g[i] - w[i]));
      scale = std::max(scale, std::abs(w[i]));
    }
    ASSERT_GT(scale, 0.0) << output_name;
    EXPECT_LE(diff / scale, 1e-3) << name << " " << output_name;
  }
}

class TransformerInferCli : public ::testing::TestWithParam<ExportCase> {};

TEST_P(TransformerInferCli, NamedInt64InputsMatchTorch) {
  const ExportCase& c = GetParam();
  std::string inputs;
  std::string fixed;
  for (const std::string& input : c.inputs) {
    const std::string file = kDir + c.name + "." + input + ".npy";
    const RawArray array = Read(file);
    EXPECT_EQ(array.dtype, DType::kI64) << file;
    inputs += " --input " + input + "=" + file;
    fixed += " --input-shape " + input + ":" + std::to_string(array.shape.at(0)) + "x" +
             std::to_string(array.shape.at(1));
  }
  InferMatchesTorch(c.name, inputs, "");
  InferMatchesTorch(c.name, inputs, fixed);
}

TEST_P(TransformerInferCli, Int32FilesFeedTheInt64Inputs) {
  const ExportCase& c = GetParam();
  TempDir dir;
  std::string inputs;
  for (const std::string& input : c.inputs) {
    const RawArray array = Read(kDir + c.name + "." + input + ".npy");
    std::vector<int32_t> narrow;
    for (double v : Values(array)) narrow.push_back(static_cast<int32_t>(v));
    std::string tuple =
        "(" + std::to_string(array.shape.at(0)) + ", " + std::to_string(array.shape.at(1)) + ")";
    const std::string file = dir.Path(input + ".npy");
    test::WriteBytes(
        file, test::NpyBytes("{'descr': '<i4', 'fortran_order': False, 'shape': " + tuple + ", }",
                             test::LittleEndianBytes(narrow)));
    inputs += " --input " + input + "=" + file;
  }
  InferMatchesTorch(c.name, inputs, "");
}

INSTANTIATE_TEST_SUITE_P(Exports, TransformerInferCli, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<ExportCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace mixq
