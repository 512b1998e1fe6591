#include "apps/common/process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

extern char** environ;

namespace l4sim::apps {

pid_t start_process(const process_spec& spec) {
  // Everything the child needs is built before fork: only async-signal-safe calls after.
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv{*e};
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      continue;
    }
    auto key = kv.substr(0, eq);
    bool dropped = false;
    for (auto& prefix : spec.drop_prefixes) {
      dropped = dropped || key.rfind(prefix, 0) == 0;
    }
    if (!dropped) {
      merged[key] = kv.substr(eq + 1);
    }
  }
  for (auto& [k, v] : spec.set) {
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
  auto argv_copy = spec.argv;
  std::vector<char*> args;
  for (auto& a : argv_copy) {
    args.push_back(a.data());
  }
  args.push_back(nullptr);
  int devnull = spec.input_fd < 0 ? ::open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
  auto parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(1);
      }
    }
    ::dup2(spec.input_fd >= 0 ? spec.input_fd : devnull, 0);
    if (spec.output_fd >= 0) {
      ::dup2(spec.output_fd, 1);
      ::dup2(spec.output_fd, 2);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  if (devnull >= 0) {
    ::close(devnull);
  }
  return pid;
}

int reap_process(pid_t pid, int patience_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds{patience_ms};
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
  return status;
}

}  // namespace l4sim::apps
