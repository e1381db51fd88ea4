#include "common/table_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace mixq {
namespace {

Table Sample() {
  Table t;
  t.columns = {"config", "drop %", "speed-up"};
  t.numeric = {false, true, true};
  t.AddRow({"int8 except conv1, conv2, conv3, fc", "0.12", "1.84"});
  t.AddRow({"fp32", "0.00", "1.00"});
  t.AddRow({"a,\"b\"", "-", "2"});
  return t;
}

TEST(TableFormat, TextAlignsAndFitsTheWidth) {
  const std::string wide = RenderTable(Sample(), TableFormat::kTable);
  std::istringstream lines(wide);
  std::string header, rule, first;
  std::getline(lines, header);
  std::getline(lines, rule);
  std::getline(lines, first);
  EXPECT_EQ(header.size(), first.size());
  EXPECT_NE(first.find("int8 except conv1, conv2, conv3, fc"), std::string::npos);
  // Numbers right-aligned: the row ends with the number.
  EXPECT_EQ(first.substr(first.size() - 4), "1.84");

  const std::string narrow = RenderTable(Sample(), TableFormat::kTable, 30);
  std::istringstream nl(narrow);
  std::string row;
  while (std::getline(nl, row)) EXPECT_LE(row.size(), 30u) << row;
  EXPECT_NE(narrow.find("~"), std::string::npos);
  EXPECT_NE(narrow.find("1.84"), std::string::npos);  // numbers are never cut
}

TEST(TableFormat, CsvQuotesPerRfc4180) {
  const std::string csv = RenderTable(Sample(), TableFormat::kCsv);
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")), "config,drop %,speed-up");
  EXPECT_NE(csv.find("\"int8 except conv1, conv2, conv3, fc\",0.12,1.84\r\n"), std::string::npos);
  EXPECT_NE(csv.find("\"a,\"\"b\"\"\",-,2\r\n"), std::string::npos);
}

TEST(TableFormat, JsonHasNumbersAndNulls) {
  nlohmann::json doc = nlohmann::json::parse(RenderTable(Sample(), TableFormat::kJson));
  ASSERT_EQ(doc.size(), 3u);
  EXPECT_EQ(doc[0]["speed-up"], 1.84);
  EXPECT_EQ(doc[0]["config"], "int8 except conv1, conv2, conv3, fc");
  EXPECT_TRUE(doc[2]["drop %"].is_null());
}

TEST(TableFormat, MarkdownAndFormatNames) {
  const std::string md = RenderTable(Sample(), TableFormat::kMarkdown);
  EXPECT_EQ(md.substr(0, md.find('\n')), "| config | drop % | speed-up |");
  EXPECT_NE(md.find("| --- | ---: | ---: |"), std::string::npos);
  EXPECT_TRUE(ParseTableFormat("md").ok());
  EXPECT_FALSE(ParseTableFormat("xml").ok());
}

}  // namespace
}  // namespace mixq
