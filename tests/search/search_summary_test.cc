#include "search/search_summary.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/common/data_files.h"

namespace mixq {
namespace {

SearchSpace ThreeLayers() {
  SearchSpace space;
  for (const char* name : {"conv1", "conv2", "fc"}) space.layers.push_back({name, {}, false});
  return space;
}

HardwareOutcome Outcome() {
  HardwareOutcome h;
  h.hardware = "avx2 (AMD EPYC)";
  SearchOutcome& o = h.outcome;
  o.met = true;
  o.verdict = "fastest measured config within budget";
  o.chosen = {true, false, true};
  o.fp32_accuracy = 91.96;
  o.int8_accuracy = 91.0;
  o.chosen_accuracy = 91.80;
  o.fp32_ms = 10.0;
  o.int8_ms = 5.0;
  o.chosen_ms = 6.25;
  o.full_evaluations = 4;
  o.timing_rounds = 3;
  return h;
}

TEST(SearchSummary, TableHasMeasuredRowsPerHardwareClass) {
  const SearchSpace space = ThreeLayers();
  Table t = SearchSummaryTable(space, {Outcome()});
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][1], "fp32");
  EXPECT_EQ(t.rows[0][5], "1.00");
  EXPECT_EQ(t.rows[1][3], "0.96");  // int8 drop
  EXPECT_EQ(t.rows[1][5], "2.00");
  EXPECT_EQ(t.rows[2][1], "chosen");
  EXPECT_EQ(t.rows[2][3], "0.16");
  EXPECT_EQ(t.rows[2][5], "1.60");
  EXPECT_EQ(t.rows[2][6], "conv2");
  EXPECT_EQ(t.rows[1][6], "-");
}

TEST(SearchSummary, WritesSummaryAndChosenConfig) {
  const test::TempDir temp;
  const std::string dir = temp.Path("outputs");
  const SearchSpace space = ThreeLayers();
  StatusOr<std::vector<std::string>> files =
      WriteSearchOutputs(dir, space, std::string(64, 'f'), {Outcome()});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  std::ifstream config(dir + "/config-avx2__AMD_EPYC_.json");
  ASSERT_TRUE(config.good());
  std::stringstream text;
  text << config.rdbuf();
  StatusOr<PrecisionConfig> parsed =
      ParsePrecisionConfig(text.str(), {"conv1", "conv2", "fc"}, std::string(64, 'f'));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->layers.at("conv2"), Precision::kFp32);
  EXPECT_EQ(parsed->layers.at("fc"), Precision::kInt8);
  std::ifstream summary(dir + "/summary.txt");
  std::stringstream s;
  s << summary.rdbuf();
  EXPECT_NE(s.str().find("fastest measured config within budget"), std::string::npos);
  EXPECT_NE(s.str().find("1.60"), std::string::npos);
  EXPECT_NE(s.str().find("medians of 3 head-to-head benchmark rounds"), std::string::npos);
}

}  // namespace
}  // namespace mixq
