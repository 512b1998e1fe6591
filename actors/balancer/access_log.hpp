#pragma once

// The access log: one line per proxied connection when it ends, like HAProxy's tcplog.
// Sessions fill an `access_note` as they go (accept, pick, connect, how it ended) and, when
// they end, leave one `access_record` in the balancer's `access_batch` (a vector under a
// mutex, shared by the sessions of every I/O loop). The writer, an actor on a thread of its
// own (detached), takes the whole batch `access_flush_interval` after the first record of
// it arrived (or at once when `access_batch::flush_records` wait), formats the lines and
// writes them with one write. So the I/O loop never formats or writes a line, neither a
// slow disk nor a blocked stdout ever stalls it, and it wakes the writer's thread once per
// batch instead of once per connection (a message per record cost a futex wake-up, a
// thread switch and a write per connection: docs/performance.md, "The cost of
// observability").
//
//   2026-11-27T21:04:05.123Z 127.0.0.1:40312 lb server-a 0/1/2034 in=7 out=7 -- retries=0
//
// Fields: accept time (UTC), client address:port, balancer id, backend (`-` when none was
// connected), Tw/Tc/Tt in ms (queue wait: accept to the pick of the backend that served it;
// connect: that pick to connected; total: accept to end; -1 for a phase never reached),
// bytes from the client (in) and to it (out), a two-letter termination state as in
// HAProxy's tcplog (see `termination`), and the connect attempts that failed and were
// retried. Names from configuration are escaped (protocols/text_escape.hpp).
//
// In: `caf::pending_atom` (records wait in the batch), `caf::flush_atom` (its own timer:
// write them). Out: lines to stdout (through log_line, so they never interleave with other
// log lines) or appended to a file. Links: none; its owner stops it with an exit message,
// and it writes what the batch holds before it goes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "actors/balancer/idle_policy.hpp"

namespace l4sim::actors {

/// How a connection ended, as HAProxy's two-letter termination state: the first letter
/// says what ended it (`-` normal, `C` the client, `S` the server, `c`/`s` a client- or
/// server-side timeout, `K` the admin, `R` a local resource shortage), the second in which
/// phase (`R` before a backend was asked for, `Q` queued, `C` connecting, `D` data).
enum class termination {
  normal,           ///< `--`: relayed, then closed by either side
  client_left,      ///< `CC`: the client left before its backend connected
  client_timeout,   ///< `cD`: the client, client-fin or tunnel idle timeout expired
  server_timeout,   ///< `sD`: the server idle timeout expired
  queue_timeout,    ///< `sQ`: waited in a full backend's queue past queue_timeout
  no_backend,       ///< `SC`: no backend healthy or reachable (backend `-`)
  connect_failed,   ///< `SC`: the last connect was refused or reset
  connect_timeout,  ///< `sC`: the last connect did not finish in time
  killed,           ///< `KD`: its backend was removed and its drain timeout passed
  local_shortage,   ///< `RC`: this process ran out of fds, buffers or ports
};

/// One ended connection, as the access log writes it.
struct access_record {
  std::chrono::system_clock::time_point accepted;
  std::string client_address;
  uint16_t client_port = 0;
  std::string backend;      ///< the backend that served it; empty: none
  int64_t queue_ms = -1;    ///< accept to the pick of the backend that served it
  int64_t connect_ms = -1;  ///< that pick to connected
  int64_t total_ms = 0;     ///< accept to end
  uint64_t bytes_in = 0;    ///< from the client
  uint64_t bytes_out = 0;   ///< to the client
  termination end = termination::normal;
  uint32_t retries = 0;  ///< failed connects that were retried
};

/// How long the first record of a batch waits for others before the writer takes them all.
inline constexpr std::chrono::milliseconds access_flush_interval{50};

/// The records of ended connections not yet written, shared by the sessions (which add)
/// and the writer (which takes). Thread-safe; the lock is held only to move a record in or
/// the vector out.
class access_batch {
 public:
  /// From this many records on, the writer is told to take them at once.
  static constexpr size_t flush_records = 1024;

  /// Adds `r`. Returns true when the writer must be told: the batch was empty (it is the
  /// first since the writer last took them) or it now holds another `flush_records`.
  bool add(access_record r);

  /// Takes every record added so far, oldest first.
  std::vector<access_record> take();

  /// Returns how many records wait.
  size_t size() const;

 private:
  mutable std::mutex mtx_;
  std::vector<access_record> records_;
  size_t last_taken_ = 0;  // only the taker's: sizes the next batch's vector
};

/// What a session holds of the access log: the batch and its writer. Default: no access log.
struct access_log_handle {
  caf::actor writer;
  std::shared_ptr<access_batch> batch;

  explicit operator bool() const { return static_cast<bool>(writer); }

  /// Leaves `r` in the batch and tells the writer when `add` says so (a message per batch,
  /// not per record). Never formats, writes or blocks on the writer.
  void post(access_record r) const;
};

/// Returns the two letters of `t`, e.g. "--" or "sC".
const char* to_code(termination t);

/// What a session notes about its connection for the access log; cheap to fill.
class access_note {
 public:
  using clock = std::chrono::steady_clock;

  /// The connection from `address`:`port` was accepted now.
  void accepted(std::string address, uint16_t port);

  /// A backend was picked now.
  void picked() { picked_ = clock::now(); }

  /// The picked backend connected now.
  void connected() { connected_ = clock::now(); }

  /// A connect failed and is retried.
  void retried() { ++retries_; }

  /// Notes why it ends unless a reason was noted already.
  void ending(termination why);

  /// Notes the idle timeout that expired.
  void ending(idle_expiry expiry);

  /// Returns the record of the ended connection.
  access_record finish(const std::string& backend, uint64_t bytes_in, uint64_t bytes_out) const;

 private:
  std::chrono::system_clock::time_point wall_;
  clock::time_point accepted_;
  clock::time_point picked_;
  clock::time_point connected_;
  std::string address_;
  uint16_t port_ = 0;
  uint32_t retries_ = 0;
  bool has_reason_ = false;
  termination reason_ = termination::normal;
};

/// Formats `r` as one line (no newline) for the balancer `lb_id`.
std::string format_access_line(const access_record& r, const std::string& lb_id);

/// Spawns an access log writing to `target`: "stdout" or the path of a file it appends to.
/// Fails with a bad_config error naming the file when it cannot be opened.
caf::expected<access_log_handle> spawn_access_log(caf::actor_system& sys, const std::string& target,
                                                  const std::string& lb_id);

}  // namespace l4sim::actors
