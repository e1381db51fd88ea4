// `mixq query <question>`: reads the results database (opened read-only)
// through results/queries.h and prints the answer as a table, CSV, JSON or
// Markdown: best, compare, history, layers, jobs.
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "common/number_flag.h"
#include "common/table_format.h"
#include "results/queries.h"

namespace mixq {
namespace {

namespace po = boost::program_options;

const char kQueryUsage[] =
    "usage: mixq query <question> [options]   (mixq query <question> --help)\n"
    "  best     --model M --max-drop X [--hardware H] [--objective throughput|latency] "
    "[--batch B]\n"
    "  compare  [--models M,...] [--hardware H,...]\n"
    "  history  --job J\n"
    "  layers   --model M --hardware H\n"
    "  jobs\n"
    "common: --db FILE (default mixq.db), --format table|csv|json|md\n";

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

}  // namespace

int QueryMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
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
        "max-drop", RequiredRealFlag("max-drop", &best.max_drop, 0.0, 100.0),
        "top-1 budget, points")("hardware", po::value<std::string>(&best.hardware),
                                "one hardware class (default: all)")(
        "objective", po::value<std::string>(&best.objective)->default_value("throughput"),
        "throughput|latency")("batch", IntegerFlag("batch", &best.batch, 0, kMaxBatch),
                              "benchmark batch; 0 = 16 for throughput, 1 for latency");
  } else if (question == "compare") {
    desc.add_options()("models", po::value<std::vector<std::string>>(&models)->multitoken(),
                       "models (comma or space separated; default: all)")(
        "hardware", po::value<std::vector<std::string>>(&hardware)->multitoken(),
        "hardware classes, in column order (default: all with results)");
  } else if (question == "history") {
    desc.add_options()("job", RequiredIntegerFlag("job", &job, 1, kMaxJobId), "search job id");
  } else if (question == "layers") {
    desc.add_options()("model", po::value<std::string>(&model)->required(),
                       "model: path, file name or sha256 prefix")(
        "hardware", po::value<std::string>(&one_hardware)->required(), "hardware class");
  } else if (question != "jobs") {
    err << "mixq query: unknown question '" << question << "'\n\n" << kQueryUsage;
    return 2;
  }
  if (!ParseCommandLine(command, desc, rest, out)) return 0;
  if (!ParseTableFormat(format).ok()) {
    err << "mixq " << command << ": " << ParseTableFormat(format).status().message() << "\n";
    return 2;
  }
  StatusOr<std::unique_ptr<SqliteDb>> db = OpenQueryDb(db_path);
  if (!db.ok()) return ExitCode(command, db.status(), err);
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
  return ExitCode(command, s, err);
}

}  // namespace mixq
