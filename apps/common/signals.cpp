#include "apps/common/signals.hpp"

#include <csignal>
#include <ctime>

#include <cerrno>

namespace l4sim::apps {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

signal_guard::signal_guard() {
  auto set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A closed peer must show up as an error on write, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
}

int signal_guard::wait(std::optional<protocols::duration> timeout) {
  auto set = stop_signals();
  if (!timeout) {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
  }
  auto ns = timeout->count();
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  for (;;) {
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) {
      return sig;
    }
    if (errno == EAGAIN) {
      return 0;
    }
    // EINTR: an unrelated signal; waiting again restarts the full timeout, which is
    // acceptable for a process that only uses this to stop.
  }
}

}  // namespace l4sim::apps
