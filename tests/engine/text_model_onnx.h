// A tiny two-input token classifier as ONNX bytes, for the tests of datasets
// with several inputs, evaluation and calibration: int64 `input_ids` [N,S]
// index a constant embedding table of kTextVocab rows, whose row v >= 1 is
// the one-hot of class v - 1 (row 0, padding, is zero); int64
// `attention_mask` [N,S] (Cast to float, Unsqueeze) zeroes the masked
// positions; the sum over positions goes through a 4x4 identity MatMul to
// `logits` [N,4]. So the top-1 class is the most frequent unmasked id minus
// one, ties to the lower class. WriteTextSet() writes a dataset for it.
#ifndef MIXQ_TESTS_ENGINE_TEXT_MODEL_ONNX_H_
#define MIXQ_TESTS_ENGINE_TEXT_MODEL_ONNX_H_

#include <string>
#include <vector>

#include "tests/common/data_files.h"
#include "tests/engine/onnx_test_util.h"

namespace mixq::testing {

inline constexpr int64_t kTextVocab = 5;
inline constexpr int64_t kTextClasses = 4;

inline std::string TextModelOnnx(int64_t seq) {
  onnx::ModelProto model = NewModel(13);
  for (const char* name : {"input_ids", "attention_mask"}) {
    AddInput(&model, name, {-1, seq});
    model.mutable_graph()
        ->mutable_input()
        ->rbegin()
        ->mutable_type()
        ->mutable_tensor_type()
        ->set_elem_type(onnx::TensorProto::INT64);
  }
  AddOutput(&model, "logits", {-1, kTextClasses});
  std::vector<float> table(kTextVocab * kTextClasses, 0.0f);
  for (int64_t v = 1; v < kTextVocab; ++v) table[v * kTextClasses + (v - 1)] = 1.0f;
  AddFloatInitializer(&model, "table", {kTextVocab, kTextClasses}, table);
  std::vector<float> identity(kTextClasses * kTextClasses, 0.0f);
  for (int64_t c = 0; c < kTextClasses; ++c) identity[c * kTextClasses + c] = 1.0f;
  AddFloatInitializer(&model, "w", {kTextClasses, kTextClasses}, identity);
  AddInt64Initializer(&model, "axis2", {2});
  AddInt64Initializer(&model, "axis1", {1});
  AddNode(&model, "Gather", {"table", "input_ids"}, {"embedded"}, "embed");
  AddIntAttr(AddNode(&model, "Cast", {"attention_mask"}, {"mask_f"}, "mask_cast"), "to",
             onnx::TensorProto::FLOAT);
  AddNode(&model, "Unsqueeze", {"mask_f", "axis2"}, {"mask_3d"}, "mask_unsqueeze");
  AddNode(&model, "Mul", {"embedded", "mask_3d"}, {"masked"}, "apply_mask");
  AddIntAttr(AddNode(&model, "ReduceSum", {"masked", "axis1"}, {"pooled"}, "pool"), "keepdims", 0);
  AddNode(&model, "MatMul", {"pooled", "w"}, {"logits"}, "classify");
  return Serialize(model);
}

// Writes four samples for TextModelOnnx(3) into the folder `dir`: ids.npy (int32),
// mask.npy (int64), labels.npy and text.yaml (the `inputs` form), and
// returns the YAML's path. The top-1 classes are 0, 3, 3, 1 (sample 1 would
// be class 2 without its mask); the labels are 0, 3, 0, 1: three correct.
inline std::string WriteTextSet(const std::string& dir) {
  test::WriteNpy<int32_t>(dir + "/ids.npy", "<i4", "(4, 3)", {1, 1, 2, 3, 3, 4, 2, 4, 4, 0, 2, 0});
  test::WriteNpy<int64_t>(dir + "/mask.npy", "<i8", "(4, 3)", {1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1});
  test::WriteNpy<int64_t>(dir + "/labels.npy", "<i8", "(4,)", {0, 3, 0, 1});
  test::WriteText(dir + "/text.yaml",
                  "format: npy\ninputs:\n  input_ids: ids.npy\n  attention_mask: mask.npy\n"
                  "labels: labels.npy\n");
  return dir + "/text.yaml";
}

}  // namespace mixq::testing

#endif  // MIXQ_TESTS_ENGINE_TEXT_MODEL_ONNX_H_
