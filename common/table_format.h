// Tables as the query commands print them: aligned text that fits the
// terminal, CSV (RFC 4180), JSON (an array of objects; numeric columns as
// numbers) or Markdown. Producers fill a Table of strings and say which
// columns are numeric; rendering is the only place that knows the formats.
#ifndef MIXQ_COMMON_TABLE_FORMAT_H_
#define MIXQ_COMMON_TABLE_FORMAT_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

struct Table {
  std::vector<std::string> columns;
  std::vector<bool> numeric;  // per column: right-aligned, a JSON number; default false
  std::vector<std::vector<std::string>> rows;

  void AddRow(std::vector<std::string> row) { rows.push_back(std::move(row)); }
};

enum class TableFormat { kTable, kCsv, kJson, kMarkdown };

// "table", "csv", "json", "md"; InvalidArgument otherwise.
StatusOr<TableFormat> ParseTableFormat(const std::string& name);

// Renders `table`. For kTable, `width` > 0 is the terminal width: the widest
// text columns are shortened (with "~" marking the cut) until the table fits;
// numeric columns are never cut. Other formats ignore `width`.
std::string RenderTable(const Table& table, TableFormat format, int width = 0);

// `value` with `digits` digits after the point ("%.*f"), as tables and
// progress lines print numbers.
std::string Fixed(double value, int digits);

// The width of the terminal on stdout: $COLUMNS, else the tty's size, else
// 0 (not a terminal: no limit).
int TerminalWidth();

}  // namespace mixq

#endif  // MIXQ_COMMON_TABLE_FORMAT_H_
