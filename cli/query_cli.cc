#include "cli/query_cli.h"

#include <boost/program_options.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "results/queries.h"
#include "results/report_data.h"

namespace po = boost::program_options;

namespace mixq {

const char kQueryCommandsUsage[] =
    "  query   read the results database: best, compare, history, layers, jobs\n"
    "  report  one self-contained HTML page of a job's results\n";

namespace {

const char kQueryUsage[] =
    "usage: mixq query <question> [options]   (mixq query <question> --help)\n"
    "  best     --model M --max-drop X [--hardware H] [--objective throughput|latency] "
    "[--batch B]\n"
    "  compare  [--models M,...] [--hardware H,...]\n"
    "  history  --job J\n"
    "  layers   --model M --hardware H\n"
    "  jobs\n"
    "common: --db FILE (default mixq.db), --format table|csv|json|md\n";

std::vector<std::string> SplitList(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items) {
    size_t begin = 0;
    while (begin <= item.size()) {
      const size_t end = std::min(item.find(',', begin), item.size());
      if (end > begin) out.push_back(item.substr(begin, end - begin));
      begin = end + 1;
    }
  }
  return out;
}

// False after printing help.
bool Parse(const std::string& command, po::options_description& desc,
           const std::vector<std::string>& args, std::ostream& out) {
  desc.add_options()("help,h", "show this help");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  if (vm.count("help")) {
    out << "usage: mixq " << command << " [options]\n" << desc;
    return false;
  }
  po::notify(vm);
  return true;
}

int Fail(const std::string& command, const Status& status, std::ostream& err) {
  err << "mixq " << command << ": " << status.message() << "\n";
  return 1;
}

Status Print(const Table& table, const std::string& format_name, std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(TableFormat format, ParseTableFormat(format_name));
  out << RenderTable(table, format, format == TableFormat::kTable ? TerminalWidth() : 0);
  return Status::Ok();
}

Status PrintCompare(const CompareTables& tables, const std::string& format_name,
                    std::ostream& out) {
  MIXQ_ASSIGN_OR_RETURN(TableFormat format, ParseTableFormat(format_name));
  const int width = format == TableFormat::kTable ? TerminalWidth() : 0;
  if (format == TableFormat::kJson) {
    // One JSON document: both tables and the missing classes.
    nlohmann::json doc;
    doc["accuracy_drop_points"] = nlohmann::json::parse(RenderTable(tables.accuracy, format));
    doc["speedup_over_fp32"] = nlohmann::json::parse(RenderTable(tables.speedup, format));
    doc["missing_hardware"] = tables.missing;
    out << doc.dump(1) << "\n";
    return Status::Ok();
  }
  const bool md = format == TableFormat::kMarkdown;
  const bool csv = format == TableFormat::kCsv;
  if (!csv)
    out << (md ? "**" : "") << "Accuracy drop vs FP32 (points)" << (md ? "**" : "") << "\n\n";
  out << RenderTable(tables.accuracy, format, width) << "\n";
  if (!csv)
    out << (md ? "**" : "") << "Throughput speed-up over FP32" << (md ? "**" : "") << "\n\n";
  out << RenderTable(tables.speedup, format, width);
  if (!tables.missing.empty() && !csv) {
    out << "\nmissing hardware classes (asked for, no results):";
    for (const std::string& c : tables.missing) out << " " << c;
    out << "\n";
  }
  return Status::Ok();
}

int Query(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kQueryUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string question = args[0];
  const std::string command = "query " + question;
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  std::string db_path = "mixq.db", format = "table";
  po::options_description desc("mixq " + command);
  desc.add_options()("db", po::value<std::string>(&db_path)->default_value("mixq.db"),
                     "results database (opened read-only)")(
      "format", po::value<std::string>(&format)->default_value("table"), "table|csv|json|md");
  BestQuery best;
  CompareQuery compare;
  std::vector<std::string> models, hardware;
  int64_t job = 0;
  std::string model, one_hardware;
  if (question == "best") {
    desc.add_options()("model", po::value<std::string>(&best.model)->required(),
                       "model: path, file name or sha256 prefix")(
        "max-drop", po::value<double>(&best.max_drop)->required(), "top-1 budget, points")(
        "hardware", po::value<std::string>(&best.hardware), "one hardware class (default: all)")(
        "objective", po::value<std::string>(&best.objective)->default_value("throughput"),
        "throughput|latency")("batch", po::value<int64_t>(&best.batch)->default_value(0),
                              "benchmark batch; 0 = 16 for throughput, 1 for latency");
  } else if (question == "compare") {
    desc.add_options()("models", po::value<std::vector<std::string>>(&models)->multitoken(),
                       "models (comma or space separated; default: all)")(
        "hardware", po::value<std::vector<std::string>>(&hardware)->multitoken(),
        "hardware classes, in column order (default: all with results)");
  } else if (question == "history") {
    desc.add_options()("job", po::value<int64_t>(&job)->required(), "search job id");
  } else if (question == "layers") {
    desc.add_options()("model", po::value<std::string>(&model)->required(),
                       "model: path, file name or sha256 prefix")(
        "hardware", po::value<std::string>(&one_hardware)->required(), "hardware class");
  } else if (question != "jobs") {
    err << "mixq query: unknown question '" << question << "'\n\n" << kQueryUsage;
    return 2;
  }
  if (!Parse(command, desc, rest, out)) return 0;
  if (!ParseTableFormat(format).ok()) {
    err << "mixq " << command << ": " << ParseTableFormat(format).status().message() << "\n";
    return 2;
  }
  StatusOr<std::unique_ptr<SqliteDb>> db = OpenQueryDb(db_path);
  if (!db.ok()) return Fail(command, db.status(), err);
  Status s = Status::Ok();
  if (question == "compare") {
    compare.models = SplitList(models);
    compare.hardware = SplitList(hardware);
    StatusOr<CompareTables> tables = QueryCompare(**db, compare);
    s = tables.ok() ? PrintCompare(*tables, format, out) : tables.status();
  } else {
    StatusOr<Table> table = question == "best"      ? QueryBest(**db, best)
                            : question == "history" ? QueryHistory(**db, job)
                            : question == "layers"  ? QueryLayers(**db, model, one_hardware)
                                                    : QueryJobs(**db);
    s = table.ok() ? Print(*table, format, out) : table.status();
  }
  return s.ok() ? 0 : Fail(command, s, err);
}

int Report(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string db_path, output;
  int64_t job = 0;
  po::options_description desc("mixq report: one self-contained HTML page of a job");
  desc.add_options()("db", po::value<std::string>(&db_path)->default_value("mixq.db"),
                     "results database (opened read-only)")(
      "job", po::value<int64_t>(&job)->required(), "job id")(
      "output,o", po::value<std::string>(&output)->required(), "HTML file to write");
  if (!Parse("report", desc, args, out)) return 0;
  StatusOr<std::unique_ptr<SqliteDb>> db = OpenQueryDb(db_path);
  if (!db.ok()) return Fail("report", db.status(), err);
  StatusOr<ReportData> data = LoadReportData(**db, job);
  if (!data.ok()) return Fail("report", data.status(), err);
  std::ofstream file(output, std::ios::binary);
  file << RenderHtmlReport(*data);
  file.close();
  if (!file) return Fail("report", Unavailable(output + ": cannot write"), err);
  out << "wrote " << output << "\n";
  return 0;
}

}  // namespace

std::optional<int> RunQueryCommand(const std::string& command, const std::vector<std::string>& args,
                                   std::ostream& out, std::ostream& err) {
  if (command == "query") return Query(args, out, err);
  if (command == "report") return Report(args, out, err);
  return std::nullopt;
}

}  // namespace mixq
