#include "results/html_report.h"

#include <gtest/gtest.h>

namespace mixq {
namespace {

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(HtmlReport, ParetoFrontPerHardwareClass) {
  std::vector<ReportPoint> points = {{"fp32", "avx2", 0.0, 1.0},  {"int8", "avx2", 0.9, 2.0},
                                     {"mix", "avx2", 0.3, 1.8},   {"bad", "avx2", 0.5, 1.5},
                                     {"fp32", "sse41", 0.0, 1.0}, {"int8", "sse41", 0.2, 3.0},
                                     {"mix", "sse41", 0.3, 1.1}};
  std::vector<size_t> front = ParetoFront(points);
  EXPECT_EQ(front, (std::vector<size_t>{0, 1, 2, 4, 5}));
}

TEST(HtmlReport, PageIsSelfContainedWithTablesAndPlots) {
  ReportData data;
  data.title = "fm_resnet <search>";
  data.facts = {"budget: 0.3 points"};
  ReportSection section;
  section.title = "Summary";
  section.table.columns = {"config", "drop"};
  section.table.numeric = {false, true};
  section.table.AddRow({"int8 & friends", "0.12"});
  data.tables.push_back(section);
  data.points = {{"fp32", "avx2", 0.0, 1.0},
                 {"int8", "avx2", 0.9, 2.0, false},
                 {"mix", "avx2", 0.2, 1.7, true}};
  data.layers = {{"conv1", "avx2", 0.4, 1.3}, {"conv2", "avx2", 0.01, 2.1}};
  data.steps = {{1.0, 1.2, 0.1, "full"}, {2.0, 1.7, 0.2, "full"}};
  const std::string html = RenderHtmlReport(data);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>fm_resnet &lt;search&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("int8 &amp; friends"), std::string::npos);
  EXPECT_NE(html.find("id=\"tradeoff\""), std::string::npos);
  EXPECT_NE(html.find("id=\"layers\""), std::string::npos);
  EXPECT_NE(html.find("id=\"progress\""), std::string::npos);
  EXPECT_EQ(Count(html, "class=\"config-point\""), 3);
  EXPECT_EQ(Count(html, "class=\"chosen\""), 1);
  EXPECT_EQ(Count(html, "class=\"pareto-front\""), 1);
  EXPECT_EQ(Count(html, "class=\"layer-point\""), 2);
  // Nothing fetched from elsewhere.
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

}  // namespace
}  // namespace mixq
