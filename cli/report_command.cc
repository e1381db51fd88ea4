// `mixq report`: one self-contained HTML page of a job's results
// (results/report_data.h, results/html_report.h), from the results database
// opened read-only.
#include <boost/program_options.hpp>
#include <fstream>

#include "cli/command_line.h"
#include "cli/commands.h"
#include "common/number_flag.h"
#include "results/html_report.h"
#include "results/queries.h"
#include "results/report_data.h"

namespace mixq {

namespace po = boost::program_options;

int ReportMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string db_path, output;
  int64_t job = 0;
  po::options_description desc("mixq report: one self-contained HTML page of a job");
  desc.add_options()("db", po::value<std::string>(&db_path)->default_value("mixq.db"),
                     "results database (opened read-only)")(
      "job", RequiredIntegerFlag("job", &job, 1, kMaxJobId), "job id")(
      "output,o", po::value<std::string>(&output)->required(), "HTML file to write");
  if (!ParseCommandLine("report", desc, args, out)) return 0;
  StatusOr<std::unique_ptr<SqliteDb>> db = OpenQueryDb(db_path);
  if (!db.ok()) return ExitCode("report", db.status(), err);
  StatusOr<ReportData> data = LoadReportData(**db, job);
  if (!data.ok()) return ExitCode("report", data.status(), err);
  std::ofstream file(output, std::ios::binary);
  file << RenderHtmlReport(*data);
  file.close();
  if (!file) return ExitCode("report", Unavailable(output + ": cannot write"), err);
  out << "wrote " << output << "\n";
  return 0;
}

}  // namespace mixq
