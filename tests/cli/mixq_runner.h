// Runs the built `mixq` binary as a user would, for the command-line and
// integration tests.
#ifndef MIXQ_TESTS_CLI_MIXQ_RUNNER_H_
#define MIXQ_TESTS_CLI_MIXQ_RUNNER_H_

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace mixq::test {

struct MixqResult {
  int exit_code = -1;
  std::string out;  // stdout, and stderr too when merged
  std::string err;  // stderr when kept apart
};

// Where `mixq`'s stderr goes: into `out` with stdout (one-line errors read as
// the user sees them), nowhere (output that must parse, such as JSON), or
// into `err` (progress on stderr checked apart from the report on stdout).
enum class StderrTo { kOut, kNull, kErr };

// `mixq <args>`: `args` is a shell word list.
inline MixqResult RunMixq(const std::string& args, StderrTo stderr_to = StderrTo::kOut) {
  MixqResult r;
  std::string err_path;
  std::string redirect = " 2>&1";
  if (stderr_to == StderrTo::kNull) redirect = " 2>/dev/null";
  if (stderr_to == StderrTo::kErr) {
    std::string pattern = (std::filesystem::temp_directory_path() / "mixq_stderr_XXXXXX").string();
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = mkstemp(name.data());
    if (fd < 0) return r;
    close(fd);
    err_path = name.data();
    redirect = " 2>" + err_path;
  }
  const std::string cmd = std::string(MIXQ_BINARY_DIR) + "/bin/mixq " + args + redirect;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe) {
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
    const int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  if (!err_path.empty()) {
    std::stringstream text;
    text << std::ifstream(err_path).rdbuf();
    r.err = text.str();
    std::remove(err_path.c_str());
  }
  return r;
}

inline int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// "N sub-jobs, T tasks, P run now" from a run's output: P (-1 if absent).
inline int64_t TasksRunNow(const std::string& out) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("(\\d+) run now"))) return -1;
  return std::stoll(m[1].str());
}

}  // namespace mixq::test

#endif  // MIXQ_TESTS_CLI_MIXQ_RUNNER_H_
