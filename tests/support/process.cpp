#include "tests/support/process.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/support/socket_client.hpp"

extern char** environ;

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
  // Build everything the child needs before fork: only async-signal-safe calls after it.
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv{*e};
    auto eq = kv.find('=');
    if (eq != std::string::npos) {
      merged[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  // Sanitized builds: `server`, `client` and `sim` exit with actors whose timers are still
  // pending, which CAF 0.17 never frees at shutdown; their leaks at exit are the OS's to
  // reclaim. The `lb` stops everything it owns before it returns, so its leaks are checked
  // (with tests/lsan.supp through LSAN_OPTIONS), and so are the in-process tests'.
  bool leak_checked = false;
  for (auto& a : argv) {
    leak_checked = leak_checked || a == app_path("lb");
  }
  if (auto asan = merged.find("ASAN_OPTIONS"); asan != merged.end() && !leak_checked) {
    asan->second += ":detect_leaks=0";
  }
  for (auto& [k, v] : env) {
    if (v.empty()) {
      merged.erase(k);
    } else {
      merged[k] = v;
    }
  }
  std::vector<std::string> env_strings;
  for (auto& [k, v] : merged) {
    env_strings.push_back(k + "=" + v);
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
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
