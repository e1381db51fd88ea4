// What every `mixq` sub-command does with its command line: parse it with
// Boost.Program_options (adding --help), turn its failure into an exit code
// and one line, and read the list-valued flags (--batch 1,16, --budget
// 0.1,0.3). Sub-commands throw boost::program_options::error for a malformed
// command line; RunCommand() (commands.h) turns that into exit code 2.
#ifndef MIXQ_CLI_COMMAND_LINE_H_
#define MIXQ_CLI_COMMAND_LINE_H_

#include <boost/program_options.hpp>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "common/option_number.h"
#include "common/resource_limits.h"
#include "common/status.h"

namespace mixq {

// Parses `args` against `desc` (and `positional`) after adding --help.
// Returns false after printing "usage: mixq <command> [options]" and the
// options to `out` when --help was given. Throws
// boost::program_options::error for unknown or malformed options and for
// missing required ones. `values`, when given, receives the parsed values
// (e.g. to tell an option given from its default: values["batch"].defaulted()).
bool ParseCommandLine(const std::string& command, boost::program_options::options_description& desc,
                      const std::vector<std::string>& args, std::ostream& out,
                      const boost::program_options::positional_options_description& positional =
                          boost::program_options::positional_options_description(),
                      boost::program_options::variables_map* values = nullptr);

// True when option `name` was given on the command line, not defaulted.
bool OptionGiven(const boost::program_options::variables_map& values, const std::string& name);

// The exit code of a command's work: 0 when `status` is OK, else 1 after
// printing "mixq <command>: <message>" to `err`.
int ExitCode(const std::string& command, const Status& status, std::ostream& err);

// Numeric options are declared with IntegerFlag() and RealFlag()
// (common/number_flag.h), which check them as they are parsed; lists of
// numbers are read here, each item by the same check.

// Limits of the options several commands share (each is checked with its
// flag; kMaxBatch, kMaxSamples and kMaxThreads live with what they bound).
inline constexpr int kMaxRuns = 10000000;            // --warmup, --runs, --min-iterations
inline constexpr double kMaxTimedSeconds = 86400.0;  // --min-seconds: a day
inline constexpr double kMinPercentile = 0.001;      // --percentile's lowest, up to 100
inline constexpr int kMaxTimeoutMs = 86400000;       // --timeout-ms: a day
inline constexpr int64_t kMaxJobId = std::numeric_limits<int64_t>::max();  // --job, --job-id
// --count: a number of samples, or -1 for all of them.
inline const IntegerRange kSampleCount{1, kMaxSamples, -1, "all"};

// "1,16" -> {1, 16}. Throws boost::program_options::error naming `flag`
// for an item that is not an integer in [lo, hi] (common/option_number.h's
// message), or for an empty list.
std::vector<int64_t> ParseIntList(const std::string& text, const std::string& flag, int64_t lo,
                                  int64_t hi);

// "0.1,0.3" -> {0.1, 0.3}, each a finite number in [lo, hi]; throws as
// ParseIntList() does.
std::vector<double> ParseDoubleList(const std::string& text, const std::string& flag, double lo,
                                    double hi);

// Items of flags given as "a,b" or as several words, one list; empty items
// are dropped.
std::vector<std::string> SplitList(const std::vector<std::string>& items);

}  // namespace mixq

#endif  // MIXQ_CLI_COMMAND_LINE_H_
