// What every `mixq` sub-command does with its command line: parse it with
// Boost.Program_options (adding --help), turn its failure into an exit code
// and one line, and read the list-valued flags (--batch 1,16, --budget
// 0.1,0.3). Sub-commands throw boost::program_options::error for a malformed
// command line; RunCommand() (commands.h) turns that into exit code 2.
#ifndef MIXQ_CLI_COMMAND_LINE_H_
#define MIXQ_CLI_COMMAND_LINE_H_

#include <boost/program_options.hpp>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

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

// A notifier for po::value<T>(...)->notifier(): throws
// boost::program_options::error naming `flag` and the range when the value
// lies outside [lo, hi] (or is not a number), so that a bad value is a
// usage error (exit 2) before anything runs.
std::function<void(const int&)> InRange(const std::string& flag, int lo, int hi);
std::function<void(const int64_t&)> InRange(const std::string& flag, int64_t lo, int64_t hi);
std::function<void(const double&)> InRange(const std::string& flag, double lo, double hi);

// "1,16" -> {1, 16}. Throws boost::program_options::error naming `flag`
// for an item that is not a positive integer, or for an empty list.
std::vector<int64_t> ParseIntList(const std::string& text, const std::string& flag);

// "0.1,0.3" -> {0.1, 0.3}. Throws boost::program_options::error naming
// `flag` for an item that is not a number >= 0, or for an empty list.
std::vector<double> ParseDoubleList(const std::string& text, const std::string& flag);

// Items of flags given as "a,b" or as several words, one list; empty items
// are dropped.
std::vector<std::string> SplitList(const std::vector<std::string>& items);

}  // namespace mixq

#endif  // MIXQ_CLI_COMMAND_LINE_H_
