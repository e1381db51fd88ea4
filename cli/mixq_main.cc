// `mixq`: the command line. Looks the sub-command up in the table of
// commands.h and runs it; every error ends as one line on stderr and a
// non-zero exit (1: the work failed, 2: the command line was wrong).
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    mixq::PrintUsage(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--version") return mixq::VersionMain(args, std::cout, std::cerr);
  if (command == "help" || command == "--help" || command == "-h") {
    mixq::PrintUsage(std::cout);
    return 0;
  }
  if (std::optional<int> code = mixq::RunCommand(command, args, std::cout, std::cerr)) {
    return *code;
  }
  std::cerr << "mixq: unknown command '" << command << "'\n\n";
  mixq::PrintUsage(std::cerr);
  return 2;
}
