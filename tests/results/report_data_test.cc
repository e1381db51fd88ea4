#include "results/report_data.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "results/queries.h"
#include "tests/results/query_fixture.h"

namespace mixq {
namespace {

using mixq_test::QueryDbFixture;

const ReportSection* Section(const ReportData& data, const std::string& title) {
  for (const ReportSection& s : data.tables) {
    if (s.title == title) return &s;
  }
  return nullptr;
}

// Job 4 is a search whose verifications ran as sub-job 2.
TEST(ReportData, SearchJobWithItsSubJobs) {
  QueryDbFixture f("report_data");
  auto db = OpenQueryDb(f.path());
  ASSERT_TRUE(db.ok()) << db.status().message();
  ReportData data = LoadReportData(**db, 4).value();
  EXPECT_EQ(data.title, "mixq report: job 4 (search)");
  ASSERT_NE(Section(data, "Accuracy drop vs FP32 (points), latest per model"), nullptr);
  EXPECT_EQ(Section(data, "Accuracy drop vs FP32 (points), latest per model")->table.rows.size(),
            4u);  // int8 and mix, top1 and top5
  ASSERT_NE(Section(data, "Accuracy"), nullptr);
  EXPECT_EQ(Section(data, "Accuracy")->table.rows.size(),
            12u);  // 3 configs x 2 classes x 2 metrics
  ASSERT_NE(Section(data, "Search answers"), nullptr);
  EXPECT_EQ(Section(data, "Search answers")->table.rows[0][4], "mix");
  // Points at batch 16, the largest benchmarked: 3 configs on 2 classes.
  ASSERT_EQ(data.points.size(), 6u);
  int chosen = 0;
  for (const ReportPoint& p : data.points) {
    if (p.hardware == "avx2" && p.config == "int8") {
      EXPECT_DOUBLE_EQ(p.speedup, 3.0);
      EXPECT_NEAR(p.drop, 1.0, 1e-9);
    }
    if (p.chosen) {
      ++chosen;
      EXPECT_EQ(p.config, "mix");
      EXPECT_EQ(p.hardware, "avx2");
    }
  }
  EXPECT_EQ(chosen, 1);
  ASSERT_EQ(data.layers.size(), 2u);
  EXPECT_EQ(data.layers[0].layer, "conv1");
  EXPECT_NEAR(data.layers[0].sensitivity, 1.0, 1e-9);
  EXPECT_DOUBLE_EQ(data.layers[0].int8_gain, 4.0);
  // FP32 is verified from step 0 (speed-up 1); the mix (6.4 ms vs FP32's
  // 16 ms) counts once its full evaluation (step 5) put it within the
  // 0.5-point budget, not at its benchmark (step 4).
  ASSERT_EQ(data.steps.size(), 7u);
  EXPECT_DOUBLE_EQ(data.steps[0].best_speedup, 1.0);
  EXPECT_DOUBLE_EQ(data.steps[4].best_speedup, 1.0);
  EXPECT_DOUBLE_EQ(data.steps[5].best_speedup, 2.5);
  EXPECT_NEAR(data.steps[6].seconds, 70.0, 1e-3);
  EXPECT_EQ(LoadReportData(**db, 42).status().code(), StatusCode::kNotFound);
}

int Count(const std::string& text, const std::string& what);

// An evaluate job has no search steps: the page says so instead of showing
// bare axes; the search job's page has no such note.
TEST(ReportData, EmptyPlotsSayWhy) {
  QueryDbFixture f("report_empty");
  auto db = OpenQueryDb(f.path());
  ASSERT_TRUE(db.ok()) << db.status().message();
  const std::string evaluate = RenderHtmlReport(LoadReportData(**db, 2).value());
  EXPECT_EQ(Count(evaluate, "This job has no search steps."), 1);
  EXPECT_EQ(Count(evaluate, "No per-layer data"), 0);  // model 1 has a search and profiles
  const std::string stale = RenderHtmlReport(LoadReportData(**db, 3).value());
  EXPECT_EQ(Count(stale, "No per-layer data"), 1);  // fm_mlp has neither
  EXPECT_EQ(Count(RenderHtmlReport(LoadReportData(**db, 4).value()), "class=\"empty\""), 0);
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace
}  // namespace mixq
