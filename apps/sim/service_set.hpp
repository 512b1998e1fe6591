#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <caf/expected.hpp>

#include "apps/common/process.hpp"
#include "protocols/errors.hpp"

namespace l4sim::apps {

// Kept in a header of its own so that stages.cpp stays about the stages; `sim` is its only
// user.

/// The service processes of one run. Every process gets PR_SET_PDEATHSIG, so none outlives
/// `sim` even when `sim` is killed; the destructor stops and reaps them all. The signal
/// follows the thread that forked, so forks must come from threads that live as long as the
/// run (main, or the director's process worker).
class service_set {
 public:
  service_set() {
    char tmpl[] = "/tmp/l4sim-services-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }

  ~service_set() {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& [name, pid] : pids_) {
      ::kill(pid, SIGTERM);
    }
    for (auto& [name, pid] : pids_) {
      reap(pid, std::chrono::seconds{5});
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// Starts `binary` as `name` with `env` added; waits until its log shows `ready` (the
  /// services' `l4sim-ready` line) and returns the log text. Variables of the services
  /// (SERVER_*, LB_*, CLIENT_*) that sim itself inherited are not passed on: the run plan
  /// alone configures them.
  caf::expected<std::string> start(const std::string& name, const std::string& binary,
                                   const std::map<std::string, std::string>& env,
                                   const std::string& ready = "l4sim-ready ") {
    auto log = fmt::format("{}/{}.log", dir_, name);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      return caf::make_error(protocols::l4_errc::bad_config, fmt::format("cannot write {}", log));
    }
    process_spec spec;
    spec.argv = {binary};
    spec.set = env;
    spec.drop_prefixes = {"SERVER_", "LB_", "CLIENT_"};
    spec.output_fd = fd;
    spec.die_with_parent = true;
    auto pid = start_process(spec);
    ::close(fd);
    if (pid < 0) {
      return caf::make_error(protocols::l4_errc::bad_config,
                             fmt::format("cannot start {}", binary));
    }
    {
      std::lock_guard<std::mutex> guard{mtx_};
      pids_[name] = pid;
      started_.emplace_back(name, pid);
    }
    // Wait for the service to say it is ready; it may also fail and exit.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
    for (;;) {
      std::ifstream in{log};
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find(ready) != std::string::npos) {
        return text.str();
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        std::lock_guard<std::mutex> guard{mtx_};
        pids_.erase(name);
        return caf::make_error(protocols::l4_errc::bad_config,
                               fmt::format("{} exited before it was ready: {}", name, text.str()));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        return caf::make_error(protocols::l4_errc::bad_config,
                               fmt::format("{} was not ready within 20 s: {}", name, text.str()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
  }

  /// SIGKILLs `name` and reaps it.
  void kill(const std::string& name) {
    pid_t pid = -1;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = pids_.find(name);
      if (i == pids_.end()) {
        return;
      }
      pid = i->second;
      pids_.erase(i);
    }
    ::kill(pid, SIGKILL);
    reap(pid, std::chrono::seconds{5});
  }

  std::map<std::string, int> pids() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return {pids_.begin(), pids_.end()};
  }

  std::vector<std::pair<std::string, int>> started() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return started_;
  }

 private:
  static void reap(pid_t pid, std::chrono::seconds patience) {
    reap_process(pid, static_cast<int>(
                          std::chrono::duration_cast<std::chrono::milliseconds>(patience).count()));
  }

  std::string dir_;
  mutable std::mutex mtx_;
  std::map<std::string, pid_t> pids_;
  std::vector<std::pair<std::string, int>> started_;  // every process this run started
};

}  // namespace l4sim::apps
