#include "search/search_space.h"

#include <gtest/gtest.h>

#include "engine/onnx/onnx_importer.h"

namespace mixq {
namespace {

TEST(SearchSpace, ResNetLayersAndResidualEdges) {
  StatusOr<Graph> graph = ImportOnnx(std::string(MIXQ_SOURCE_DIR) + "/models/fm_resnet.onnx");
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  SearchSpace space = BuildSearchSpace(*graph);
  ASSERT_EQ(space.layers.size(), graph->QuantizableLayers().size());
  ASSERT_EQ(space.size(), 10);  // stem + 3 blocks x 2 + 2 projections + fc
  EXPECT_TRUE(space.layers[0].reads_graph_input);
  EXPECT_TRUE(space.layers[0].producers.empty());
  int with_two_producers = 0;
  for (int i = 1; i < space.size(); ++i) {
    EXPECT_FALSE(space.layers[i].reads_graph_input) << space.layers[i].name;
    ASSERT_FALSE(space.layers[i].producers.empty()) << space.layers[i].name;
    for (int p : space.layers[i].producers) EXPECT_LT(p, i);
    // A layer after a residual Add reads two layers (the block's second conv
    // and the shortcut).
    with_two_producers += space.layers[i].producers.size() == 2;
  }
  EXPECT_GE(with_two_producers, 3);
}

TEST(SearchSpace, ConfigRoundTripAndDescription) {
  SearchSpace space;
  for (const char* name : {"a", "b", "c"}) space.layers.push_back({name, {}, false});
  Mask mask = {true, false, true};
  PrecisionConfig config = space.ToConfig(mask, "hash");
  EXPECT_EQ(config.layers.at("b"), Precision::kFp32);
  StatusOr<Mask> back = space.FromConfig(config);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, mask);
  EXPECT_EQ(DescribeMask(space, mask), "int8 except b");
  EXPECT_EQ(DescribeMask(space, space.AllInt8()), "int8");
  EXPECT_EQ(DescribeMask(space, {false, false, true}), "fp32 except c");
  config.layers.erase("b");
  config.layers["z"] = Precision::kInt8;
  EXPECT_FALSE(space.FromConfig(config).ok());
}

// strategy.layers and --layers: names to indices, every bad entry named by
// its position, with the model's layers listed (cut when long).
TEST(SearchSpace, FindLayersResolvesNamesAndNamesTheBadEntry) {
  SearchSpace space;
  for (const char* name : {"stem", "layers.0/conv1", "a,b", "fc"}) {
    space.layers.push_back({name, {}, false});
  }
  StatusOr<std::vector<int>> found = FindLayers(space, {"fc", "a,b", "stem"}, "strategy.layers");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, (std::vector<int>{3, 2, 0}));
  StatusOr<std::vector<int>> none = FindLayers(space, {}, "strategy.layers");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  StatusOr<std::vector<int>> unknown = FindLayers(space, {"fc", "conv9"}, "strategy.layers");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "'strategy.layers[1]': no layer 'conv9' in the model; its 4 layers: stem, "
            "layers.0/conv1, a,b, fc");
  StatusOr<std::vector<int>> twice = FindLayers(space, {"fc", "stem", "fc"}, "--layers");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "'--layers[2]': layer 'fc' is listed twice");

  SearchSpace big;
  for (int i = 0; i < 500; ++i) big.layers.push_back({"layer" + std::to_string(i), {}, false});
  const std::string list = LayerNameList(big);
  EXPECT_LT(list.size(), 300u);
  EXPECT_EQ(list.rfind("layer0, layer1, ", 0), 0u);
  EXPECT_NE(list.find(" more"), std::string::npos);
}

}  // namespace
}  // namespace mixq
