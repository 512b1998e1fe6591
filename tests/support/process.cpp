#include "tests/support/process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "apps/common/process.hpp"
#include "tests/support/socket_client.hpp"

namespace l4sim::testing {

std::string app_path(const std::string& name) {
  return std::string{L4SIM_BIN_DIR} + "/" + name + "/" + name;
}

child_process::child_process(std::vector<std::string> argv,
                             std::map<std::string, std::string> env) {
  char tmpl[] = "/tmp/l4sim-test-XXXXXX";
  int log_fd = ::mkstemp(tmpl);
  if (log_fd < 0) {
    return;
  }
  log_path_ = tmpl;
  int in_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return;
  }
  // Sanitized builds: every child is leak-checked at exit (ASAN_OPTIONS and LSAN_OPTIONS,
  // with tests/lsan.supp, are inherited), so a service that leaks fails its test.
  apps::process_spec spec;
  spec.argv = std::move(argv);
  spec.set = std::move(env);
  spec.output_fd = log_fd;
  spec.input_fd = in_pipe[0];
  pid_ = apps::start_process(spec);
  ::close(in_pipe[0]);
  ::close(log_fd);
  stdin_fd_ = in_pipe[1];
}

child_process::~child_process() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  if (stdin_fd_ >= 0) {
    ::close(stdin_fd_);
  }
  if (!log_path_.empty()) {
    ::unlink(log_path_.c_str());
  }
}

std::string child_process::output() const {
  std::ifstream in{log_path_};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool child_process::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        if (output().find(text) != std::string::npos) {
          return true;
        }
        return false;
      },
      timeout);
}

uint16_t child_process::number_after(const std::string& marker) {
  REQUIRE(wait_for_output(marker, patience));
  auto out = output();
  return static_cast<uint16_t>(std::stoi(out.substr(out.find(marker) + marker.size())));
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, sig);
  }
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_ || pid_ <= 0) {
    return exit_code_;
  }
  wait_until(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        }
        return false;
      },
      timeout);
  return exit_code_;
}

void child_process::write_stdin(const std::string& text) {
  if (stdin_fd_ >= 0) {
    auto rc = ::write(stdin_fd_, text.data(), text.size());
    (void)rc;
  }
}

}  // namespace l4sim::testing
