// The `mixq` command line as a table of sub-commands. Each sub-command is one
// file of cli/ (eval_command.cc, bench_command.cc, ...) whose main parses its
// own options and runs it: results go to `out`, errors to `err` as one line,
// progress to stderr. mixq_main.cc only looks a name up here. Exit codes: 0
// done, 1 the work failed, 2 the command line was wrong.
#ifndef MIXQ_CLI_COMMANDS_H_
#define MIXQ_CLI_COMMANDS_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mixq {

using CommandMain = int (*)(const std::vector<std::string>& args, std::ostream& out,
                            std::ostream& err);

struct Command {
  const char* name;     // as typed: "eval"
  const char* summary;  // one line for the usage
  CommandMain main;
};

// Every sub-command, in the order the usage lists them.
const std::vector<Command>& Commands();

// mixq's usage: what it is, how to call it, one line per sub-command.
void PrintUsage(std::ostream& out);

// Runs sub-command `name` with `args` and returns its exit code; a
// malformed command line (boost::program_options::error) prints one line to
// `err` and gives 2, any other exception "internal error" and 1. nullopt
// when there is no sub-command `name`.
std::optional<int> RunCommand(const std::string& name, const std::vector<std::string>& args,
                              std::ostream& out, std::ostream& err);

// The sub-commands' mains, each in its <name>_command.cc.
int EvalMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int InferMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int BenchMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int CalibrateMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int ProfileMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int ExportMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int SearchMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int RunMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int SubmitMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int StatusMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int CancelMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int QueryMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int ReportMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int KeygenMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int ForgetWorkerMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int VersionMain(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace mixq

#endif  // MIXQ_CLI_COMMANDS_H_
