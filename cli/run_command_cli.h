// Command-line parsing for `mixq run|submit|status|cancel`, kept beside
// run_command.h so mixq_main.cc only dispatches to it.
#ifndef MIXQ_CLI_RUN_COMMAND_CLI_H_
#define MIXQ_CLI_RUN_COMMAND_CLI_H_

#include <optional>
#include <string>
#include <vector>

namespace mixq {

// Usage lines for the commands below, for mixq's overall help.
extern const char kRunCommandsUsage[];

// Runs `command` if it is one of run, submit, status, cancel and returns its
// exit code (0 ok, 1 failed, 2 bad command line); nullopt for other commands.
std::optional<int> RunCoordinatorCommand(const std::string& command,
                                         const std::vector<std::string>& args);

}  // namespace mixq

#endif  // MIXQ_CLI_RUN_COMMAND_CLI_H_
