// A child process of an integration test (a coordinator, a worker), with its
// output in a log file; stopped (SIGTERM, then SIGKILL) and reaped when it
// goes away, so a failing test leaves no process behind.
#ifndef MIXQ_TESTS_INTEGRATION_CHILD_PROCESS_H_
#define MIXQ_TESTS_INTEGRATION_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace mixq::test {

using std::chrono::milliseconds;

class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Process() { Stop(milliseconds(5000)); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exited_; }
  void Kill(int signal) {
    if (running()) kill(pid_, signal);
  }
  // SIGTERM, so the daemon shuts down as an operator would stop it; SIGKILL
  // after `grace` if it has not, so a hung one cannot outlive the test.
  void Stop(milliseconds grace) {
    Kill(SIGTERM);
    Wait(grace);
    Kill(SIGKILL);
    Wait(milliseconds(10000));
  }
  // Exit code once exited within `timeout`; -1 otherwise (or on a signal).
  int Wait(milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return exited_ ? code_ : -1;
  }
  std::string Log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int code_ = -1;
  std::string log_;
};

// Polls `done` every 50 ms for up to `timeout`; its last answer, asked once
// more at the deadline.
inline bool WaitFor(const std::function<bool()>& done, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return done();
}

}  // namespace mixq::test

#endif  // MIXQ_TESTS_INTEGRATION_CHILD_PROCESS_H_
