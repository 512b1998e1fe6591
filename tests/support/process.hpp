#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace l4sim::testing {

/// Returns the path of one of l4sim's binaries (`server`, `lb`, `client`, `sim`).
std::string app_path(const std::string& name);

/// A child process started by a test, with its stdout and stderr captured in a file.
/// The destructor kills and reaps it, so no test leaves a process behind.
class child_process {
 public:
  /// Starts `argv[0]` with the test's environment plus `env` (a value of "" unsets).
  child_process(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  /// Returns the process ID, or -1 if it did not start.
  pid_t pid() const { return pid_; }

  /// Returns everything the process printed so far (stdout and stderr together).
  std::string output() const;

  /// Waits until the output contains `text`; false at the deadline or if the process ended
  /// first without printing it.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);

  /// Waits until the output contains `marker` and returns the number that follows it, e.g.
  /// the port in "ready on port 8080"; fails the test if it never shows.
  uint16_t number_after(const std::string& marker);

  /// Sends `sig` to the process.
  void signal(int sig);

  /// Waits for the process to end; returns its exit code (128+N for signal N), or nothing
  /// at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

  /// Writes `text` to the process's standard input.
  void write_stdin(const std::string& text);

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

}  // namespace l4sim::testing
