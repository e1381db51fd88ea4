// Command-line parsing for `mixq query <best|compare|history|layers|jobs>`
// and `mixq report`, kept apart so mixq_main.cc only dispatches to it.
#ifndef MIXQ_CLI_QUERY_CLI_H_
#define MIXQ_CLI_QUERY_CLI_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace mixq {

// Usage lines for mixq's overall help.
extern const char kQueryCommandsUsage[];

// Runs `command` if it is query or report, printing results to `out` and
// errors to `err`; returns its exit code (0 ok, 1 failed, 2 bad command
// line), nullopt for other commands.
std::optional<int> RunQueryCommand(const std::string& command, const std::vector<std::string>& args,
                                   std::ostream& out, std::ostream& err);

}  // namespace mixq

#endif  // MIXQ_CLI_QUERY_CLI_H_
