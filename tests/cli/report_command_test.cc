// `mixq report`: the page as headless Chromium renders it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "tests/results/query_fixture.h"

namespace mixq {
namespace {

using mixq_test::QueryDbFixture;

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
  ASSERT_EQ(RunCommand("report", {"--db", f.path(), "--job", "4", "-o", html + ".html"}, out, err),
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
