#pragma once

// Starting a service process, in one place for `sim --services` and the tests: the child
// gets the parent's environment with `set` applied (a value replaces an inherited one; an
// empty value unsets it; `drop_prefixes` drop inherited variables first), its stdout and
// stderr in `output_fd`, its stdin from `input_fd`, no blocked signals, and optionally
// PR_SET_PDEATHSIG so that it dies with its parent's forking thread.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace l4sim::apps {

/// How to start one process.
struct process_spec {
  std::vector<std::string> argv;           ///< argv[0] is the path of the binary
  std::map<std::string, std::string> set;  ///< variables to set ("" unsets)
  std::vector<std::string> drop_prefixes;  ///< inherited variables to leave out
  int output_fd = -1;                      ///< stdout and stderr; -1 keeps the parent's
  int input_fd = -1;                       ///< stdin; -1 means /dev/null
  bool die_with_parent = false;            ///< PR_SET_PDEATHSIG(SIGKILL)
};

/// Forks and execs `spec`; returns the child's pid, or -1 when fork failed (the child
/// exits 127 when exec fails).
pid_t start_process(const process_spec& spec);

/// Waits up to `patience_ms` for `pid` to end, then SIGKILLs and reaps it; returns its
/// wait status.
int reap_process(pid_t pid, int patience_ms);

}  // namespace l4sim::apps
