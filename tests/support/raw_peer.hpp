#pragma once

#include <cstdint>
#include <string>

namespace l4sim::testing {

/// A plain listening socket on 127.0.0.1 for tests that need a backend speaking no
/// particular protocol.
class raw_listener {
 public:
  raw_listener();
  raw_listener(const raw_listener&) = delete;
  raw_listener& operator=(const raw_listener&) = delete;
  ~raw_listener();

  uint16_t port() const { return port_; }

  /// Accepts one connection, waiting at most `timeout_ms`; -1 on timeout.
  int accept_one(int timeout_ms);

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

/// Connects a blocking socket to 127.0.0.1:port; -1 on failure.
int connect_to(uint16_t port);

/// Sets send and receive timeouts on a blocking socket, so no test blocks forever.
void set_io_timeout(int fd, int ms);

/// FNV-1a over a byte stream, fed piece by piece.
struct stream_hash {
  uint64_t value = 1469598103934665603ULL;
  uint64_t bytes = 0;
  void add(const char* data, size_t n);
};

/// Writes `total` pseudo-random bytes (from `seed`) in random-sized writes of 1..65536;
/// returns the hash of what was sent, with `bytes` short of `total` on error.
stream_hash send_random(int fd, uint64_t total, uint64_t seed);

/// Reads until EOF, error or `limit` bytes; returns the hash of what was read.
stream_hash receive_all(int fd, uint64_t limit = UINT64_MAX);

/// Counts this process's open file descriptors.
size_t open_fd_count();

}  // namespace l4sim::testing
