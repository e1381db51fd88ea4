#include "coordinator/report/report_data.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "coordinator/query/queries.h"
#include "coordinator/query/query_cli.h"
#include "tests/coordinator/query/query_fixture.h"

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

// The page as headless Chromium renders it (Debian's chromium; never
// skipped: without it the test fails and says how to install it).
TEST(ReportChromium, RenderedPageHasTablesAndPlots) {
  ASSERT_EQ(std::system("command -v chromium >/dev/null 2>&1"), 0)
      << "chromium is not installed: this test renders the report in headless Chromium "
         "(scripts/setup installs the Debian package chromium)";
  QueryDbFixture f("report_chromium");
  const std::string html = ::testing::TempDir() + "/mixq_report_" + std::to_string(::getpid());
  std::ostringstream out, err;
  ASSERT_EQ(
      RunQueryCommand("report", {"--db", f.path(), "--job", "4", "-o", html + ".html"}, out, err),
      0)
      << err.str();
  const std::string cmd = "chromium --headless --no-sandbox --disable-gpu --dump-dom file://" +
                          html + ".html > " + html + ".dom 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream file(html + ".dom");
  std::stringstream dom;
  dom << file.rdbuf();
  const std::string text = dom.str();
  EXPECT_EQ(Count(text, "<h1>mixq report: job 4 (search)</h1>"), 1) << text.substr(0, 2000);
  // drop and speed-up pivots, accuracy, speed, search answers
  EXPECT_EQ(Count(text, "<table class=\"data\">"), 5);
  EXPECT_EQ(Count(text, "<svg id=\"tradeoff\""), 1);
  EXPECT_EQ(Count(text, "class=\"config-point\""), 6);
  EXPECT_EQ(Count(text, "class=\"chosen\""), 1);
  EXPECT_GE(Count(text, "class=\"pareto-front\""), 2);  // one line per class
  EXPECT_EQ(Count(text, "<svg id=\"layers\""), 1);
  EXPECT_EQ(Count(text, "class=\"layer-point\""), 2);
  EXPECT_EQ(Count(text, "<svg id=\"progress\""), 1);
  EXPECT_EQ(Count(text, "class=\"step-point\""), 7);
  // Self-contained: nothing fetched from elsewhere.
  EXPECT_EQ(Count(text, "http://") + Count(text, "https://"),
            Count(text, "http://www.w3.org/2000/svg"));
  std::remove((html + ".html").c_str());
  std::remove((html + ".dom").c_str());
}

}  // namespace
}  // namespace mixq
