#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace l4sim::protocols {

/// Why an l4sim operation failed; rendered by `to_string` and carried in `caf::error`.
enum class l4_errc : uint8_t {
  no_healthy_backend = 1,   ///< the picker had nobody to offer
  upstream_connect_failed,  ///< the backend refused or reset the connect
  upstream_timeout,         ///< the connect did not finish within its deadline
  bind_failed,              ///< a listening socket could not be opened
  bad_config,               ///< a configuration value was missing or malformed
  bad_scenario,             ///< a scenario file did not validate
  not_listening,            ///< an operation needs a listening backend
  local_failure,  ///< this process ran out of something (fds, buffers, ports): not the peer's fault
  queue_timeout,  ///< a client waited in a full backend's queue past the queue timeout
};

/// Returns whether `err` (an errno value) names a shortage of this process or host (EMFILE,
/// ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL) rather than something the peer did.
bool is_local_errno(int err);

/// Returns the name of `x`, e.g. "no_healthy_backend".
std::string to_string(l4_errc x);

/// Category name under which l4sim errors are registered with CAF (at most 10 chars).
inline constexpr caf::atom_value l4_error_category = caf::atom("l4sim");

}  // namespace l4sim::protocols

CAF_ERROR_CODE_ENUM(l4sim::protocols::l4_errc, "l4sim")
