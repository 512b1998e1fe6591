#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace l4sim::testing {

using namespace std::chrono_literals;
using test_clock = std::chrono::steady_clock;

/// A generous bound for anything a test waits on: the machine is shared and noisy.
inline constexpr auto patience = std::chrono::seconds{20};

/// Polls `condition` in short steps until it holds or `timeout` passes; returns whether
/// it held. The steps are waits on a condition with a deadline, not pauses to settle.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout =
                    std::chrono::duration_cast<std::chrono::milliseconds>(patience));

/// How a read on a test connection ended.
enum class read_end { line, closed, timeout };

/// A blocking TCP client for tests, with a deadline on every wait.
class socket_client {
 public:
  /// Connects to 127.0.0.1:port; check `connected()`.
  explicit socket_client(uint16_t port, const std::string& host = "127.0.0.1");
  socket_client(socket_client&& other) noexcept;
  socket_client& operator=(socket_client&&) = delete;
  ~socket_client();

  /// Returns whether the connect succeeded.
  bool connected() const { return fd_ >= 0; }

  /// Returns the socket.
  int fd() const { return fd_; }

  /// Sends all of `bytes`; false on error.
  bool send(const std::string& bytes);

  /// Reads one line (without `\n`) into `line`, or tells that the peer closed or the
  /// deadline passed.
  read_end read_line(std::string& line,
                     std::chrono::milliseconds timeout =
                         std::chrono::duration_cast<std::chrono::milliseconds>(patience));

  /// Returns the next line, or nothing on close or timeout.
  std::optional<std::string> line(
      std::chrono::milliseconds timeout =
          std::chrono::duration_cast<std::chrono::milliseconds>(patience));

  /// Waits until the peer closes (EOF or reset); false if it is still open at the deadline.
  bool wait_closed(std::chrono::milliseconds timeout =
                       std::chrono::duration_cast<std::chrono::milliseconds>(patience));

  /// Shuts our write side (half-close).
  void shutdown_write();

  /// Closes the socket now.
  void close();

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace l4sim::testing
