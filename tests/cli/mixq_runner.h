// Runs the built `mixq` binary as a user would, for the command-line tests.
#ifndef MIXQ_TESTS_CLI_MIXQ_RUNNER_H_
#define MIXQ_TESTS_CLI_MIXQ_RUNNER_H_

#include <sys/wait.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <regex>
#include <string>

namespace mixq_test {

struct MixqResult {
  int exit_code = -1;
  std::string out;  // stdout, and stderr too unless separated
};

// `mixq <args>`; with `merge_stderr` false, stderr is dropped (for JSON output).
inline MixqResult RunMixq(const std::string& args, bool merge_stderr = true) {
  const std::string cmd = std::string(MIXQ_BINARY_DIR) + "/bin/mixq " + args +
                          (merge_stderr ? " 2>&1" : " 2>/dev/null");
  MixqResult r;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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

}  // namespace mixq_test

#endif  // MIXQ_TESTS_CLI_MIXQ_RUNNER_H_
