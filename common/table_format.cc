#include "common/table_format.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

namespace mixq {

namespace {

constexpr size_t kMinColumn = 6;
constexpr size_t kGap = 2;

bool IsNumeric(const Table& t, size_t c) { return c < t.numeric.size() && t.numeric[c]; }

std::string Cell(const std::vector<std::string>& row, size_t c) {
  return c < row.size() ? row[c] : "";
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string RenderText(const Table& t, int width) {
  const size_t n = t.columns.size();
  std::vector<size_t> w(n, 0);
  for (size_t c = 0; c < n; ++c) {
    w[c] = t.columns[c].size();
    for (const auto& row : t.rows) w[c] = std::max(w[c], Cell(row, c).size());
  }
  if (width > 0) {
    auto total = [&] { return std::accumulate(w.begin(), w.end(), size_t{0}) + kGap * (n - 1); };
    while (total() > static_cast<size_t>(width)) {
      size_t widest = n;
      for (size_t c = 0; c < n; ++c) {
        if (IsNumeric(t, c) || w[c] <= kMinColumn) continue;
        if (widest == n || w[c] > w[widest]) widest = c;
      }
      if (widest == n) break;  // nothing left to cut
      --w[widest];
    }
  }
  auto fit = [&](const std::string& text, size_t c) {
    if (text.size() <= w[c]) return text;
    return text.substr(0, w[c] - 1) + "~";
  };
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (size_t c = 0; c < n; ++c) {
      const std::string cell = fit(Cell(row, c), c);
      const std::string pad(w[c] - cell.size(), ' ');
      text += IsNumeric(t, c) ? pad + cell : cell + (c + 1 < n ? pad : "");
      if (c + 1 < n) text += std::string(kGap, ' ');
    }
    out << text << "\n";
  };
  line(t.columns);
  std::vector<std::string> rule;
  for (size_t c = 0; c < n; ++c) rule.push_back(std::string(w[c], '-'));
  line(rule);
  for (const auto& row : t.rows) line(row);
  return out.str();
}

}  // namespace

StatusOr<TableFormat> ParseTableFormat(const std::string& name) {
  if (name == "table") return TableFormat::kTable;
  if (name == "csv") return TableFormat::kCsv;
  if (name == "json") return TableFormat::kJson;
  if (name == "md" || name == "markdown") return TableFormat::kMarkdown;
  return InvalidArgument("unknown format '" + name + "' (table, csv, json, md)");
}

std::string RenderTable(const Table& t, TableFormat format, int width) {
  const size_t n = t.columns.size();
  switch (format) {
    case TableFormat::kTable:
      return RenderText(t, width);
    case TableFormat::kCsv: {
      std::string out;
      auto line = [&](const std::vector<std::string>& row) {
        for (size_t c = 0; c < n; ++c) out += (c ? "," : "") + CsvField(Cell(row, c));
        out += "\r\n";
      };
      line(t.columns);
      for (const auto& row : t.rows) line(row);
      return out;
    }
    case TableFormat::kJson: {
      nlohmann::json rows = nlohmann::json::array();
      for (const auto& row : t.rows) {
        nlohmann::json obj = nlohmann::json::object();
        for (size_t c = 0; c < n; ++c) {
          const std::string cell = Cell(row, c);
          if (IsNumeric(t, c)) {
            char* end = nullptr;
            const double value = std::strtod(cell.c_str(), &end);
            if (!cell.empty() && end == cell.c_str() + cell.size()) {
              obj[t.columns[c]] = value;
              continue;
            }
            if (cell.empty() || cell == "-") {
              obj[t.columns[c]] = nullptr;
              continue;
            }
          }
          obj[t.columns[c]] = cell;
        }
        rows.push_back(obj);
      }
      return rows.dump(1) + "\n";
    }
    case TableFormat::kMarkdown: {
      auto escape = [](std::string s) {
        std::string out;
        for (char ch : s) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
        return out;
      };
      std::string out = "|";
      for (size_t c = 0; c < n; ++c) out += " " + escape(t.columns[c]) + " |";
      out += "\n|";
      for (size_t c = 0; c < n; ++c) out += IsNumeric(t, c) ? " ---: |" : " --- |";
      out += "\n";
      for (const auto& row : t.rows) {
        out += "|";
        for (size_t c = 0; c < n; ++c) out += " " + escape(Cell(row, c)) + " |";
        out += "\n";
      }
      return out;
    }
  }
  return "";
}

int TerminalWidth() {
  if (const char* columns = std::getenv("COLUMNS")) {
    const int value = std::atoi(columns);
    if (value > 0) return value;
  }
  struct winsize size {};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) {
    return size.ws_col;
  }
  return 0;
}

std::string Fixed(double value, int digits) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

}  // namespace mixq
