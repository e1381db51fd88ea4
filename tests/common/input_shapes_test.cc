// The text and YAML forms of fixed input shapes (common/input_shapes.h):
// what --input-shape and input_shape accept, and the one line each refusal
// gives.
#include "common/input_shapes.h"

#include <gtest/gtest.h>

#include "common/yaml_fields.h"

namespace mixq {
namespace {

// The message of a refused text, which must be InvalidArgument.
std::string Refusal(const std::string& text) {
  InputShapes shapes;
  Status s = AddInputShapeText(text, &shapes);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  return s.message();
}

TEST(InputShapes, ParsesTheFirstInputAndNamedInputs) {
  InputShapes shapes;
  ASSERT_TRUE(AddInputShapeText("1x3x640x640", &shapes).ok());
  ASSERT_TRUE(AddInputShapeText("mask:1x640", &shapes).ok());
  // TensorFlow names carry ':' themselves: the shape follows the last one.
  ASSERT_TRUE(AddInputShapeText("input:0:2x7", &shapes).ok());
  EXPECT_EQ(shapes, (InputShapes{{"", {1, 3, 640, 640}}, {"mask", {1, 640}}, {"input:0", {2, 7}}}));
  EXPECT_EQ(InputShapesText(shapes), "1x3x640x640, input:0:2x7, mask:1x640");
}

TEST(InputShapes, RefusesMalformedTextWithOneLineQuotingIt) {
  EXPECT_NE(Refusal("1x3xAx4").find("'A' is not an integer"), std::string::npos);
  EXPECT_NE(Refusal("0x3").find("'0' is not an integer in [1, 2^31 - 1]"), std::string::npos);
  EXPECT_NE(Refusal("-1x3").find("'-1'"), std::string::npos);
  EXPECT_NE(Refusal("1x+3").find("'+3'"), std::string::npos);
  EXPECT_NE(Refusal("1xx3").find("'' is not"), std::string::npos);
  EXPECT_NE(Refusal("1x3x").find("'' is not"), std::string::npos);
  EXPECT_NE(Refusal("").find("empty shape"), std::string::npos);
  EXPECT_NE(Refusal("1 x 3").find("'1 '"), std::string::npos);
  EXPECT_NE(Refusal("x:").find("empty shape"), std::string::npos);
  EXPECT_NE(Refusal(":1x3").find("name before ':' is empty"), std::string::npos);
  // A dim beyond int32, beyond int64, and a product beyond 2^62.
  EXPECT_NE(Refusal("2147483648").find("not an integer in [1, 2^31 - 1]"), std::string::npos);
  EXPECT_NE(Refusal("99999999999999999999999").find("not an integer"), std::string::npos);
  EXPECT_NE(Refusal("2147483647x2147483647x2147483647").find("more than 2^62 elements"),
            std::string::npos);
  EXPECT_NE(Refusal("1x1x1x1x1x1x1x1x1x1x1x1x1").find("more than 12 dims"), std::string::npos);
}

TEST(InputShapes, RefusesAnInputGivenTwice) {
  InputShapes shapes;
  ASSERT_TRUE(AddInputShapeText("1x3", &shapes).ok());
  ASSERT_TRUE(AddInputShapeText("x:1x3", &shapes).ok());
  EXPECT_EQ(AddInputShapeText("2x3", &shapes).message(), "the first input's shape is given twice");
  EXPECT_EQ(AddInputShapeText("x:2x3", &shapes).message(), "input 'x' is given twice");
  EXPECT_EQ(shapes.at("x"), (Shape{1, 3}));  // the first one stays
}

TEST(InputShapes, TextRoundTripsAndMergeReplacesByKey) {
  const InputShapes a = {{"x", {1, 3, 8, 8}}, {"y", {4}}};
  InputShapes back;
  for (const std::string& entry : {std::string("x:1x3x8x8"), std::string("y:4")}) {
    ASSERT_TRUE(AddInputShapeText(entry, &back).ok());
  }
  EXPECT_EQ(back, a);
  EXPECT_EQ(ShapeText({1, 3, 8, 8}), "1x3x8x8");
  EXPECT_EQ(MergeInputShapes(a, {{"x", {2, 3, 4, 4}}, {"z", {5}}}),
            (InputShapes{{"x", {2, 3, 4, 4}}, {"y", {4}}, {"z", {5}}}));
}

StatusOr<InputShapes> FromYaml(const std::string& yaml) {
  return YamlFields("job.yaml").InputShapeMap(YAML::Load(yaml)["input_shape"], "input_shape");
}

TEST(InputShapes, YamlTakesAListTextOrAMappingOfThem) {
  StatusOr<InputShapes> list = FromYaml("input_shape: [1, 3, 64, 64]");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(*list, (InputShapes{{"", {1, 3, 64, 64}}}));
  StatusOr<InputShapes> text = FromYaml("input_shape: 1x3x64x64");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, *list);
  StatusOr<InputShapes> map = FromYaml("input_shape: {images: [1, 3, 32, 48], 'in:0': 2x5}");
  ASSERT_TRUE(map.ok()) << map.status().ToString();
  EXPECT_EQ(*map, (InputShapes{{"images", {1, 3, 32, 48}}, {"in:0", {2, 5}}}));

  // What EmitInputShapes() writes reads back the same.
  for (const InputShapes& shapes : {*list, *map}) {
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "input_shape" << YAML::Value;
    EmitInputShapes(shapes, &out);
    out << YAML::EndMap;
    StatusOr<InputShapes> back = FromYaml(out.c_str());
    ASSERT_TRUE(back.ok()) << out.c_str();
    EXPECT_EQ(*back, shapes) << out.c_str();
  }
}

TEST(InputShapes, YamlRefusalsNameTheFileAndKey) {
  EXPECT_EQ(FromYaml("input_shape: [1, 0, 4]").status().message(),
            "job.yaml: 'input_shape[1]' must be >= 1");
  EXPECT_EQ(FromYaml("input_shape: {x: [1, a]}").status().message(),
            "job.yaml: 'input_shape.x[1]' must be an integer, got 'a'");
  EXPECT_NE(FromYaml("input_shape: {x: 1x3xAx4}")
                .status()
                .message()
                .find("job.yaml: 'input_shape.x': '1x3xAx4': 'A' is not an integer"),
            std::string::npos);
  EXPECT_EQ(FromYaml("input_shape: []").status().message(),
            "job.yaml: 'input_shape': a shape needs at least one dim");
  EXPECT_EQ(FromYaml("input_shape: {}").status().message(),
            "job.yaml: 'input_shape' must name at least one input");
  EXPECT_NE(FromYaml("input_shape: [3000000000]").status().message().find("not in [1, 2147483647]"),
            std::string::npos);
}

}  // namespace
}  // namespace mixq
