#include "tests/support/socket_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace l4sim::testing {

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = test_clock::now() + timeout;
  for (;;) {
    if (condition()) {
      return true;
    }
    if (test_clock::now() >= deadline) {
      return condition();
    }
    std::this_thread::sleep_for(2ms);
  }
}

socket_client::socket_client(uint16_t port, const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

socket_client::socket_client(socket_client&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

socket_client::~socket_client() {
  close();
}

bool socket_client::send(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

read_end socket_client::read_line(std::string& line, std::chrono::milliseconds timeout) {
  auto deadline = test_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return read_end::line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - test_clock::now());
    if (left.count() <= 0 || fd_ < 0) {
      return fd_ < 0 ? read_end::closed : read_end::timeout;
    }
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc == 0) {
      return read_end::timeout;
    }
    if (rc < 0) {
      if (errno == EINTR) {
        continue;
      }
      return read_end::closed;
    }
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return read_end::closed;
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

std::optional<std::string> socket_client::line(std::chrono::milliseconds timeout) {
  std::string result;
  if (read_line(result, timeout) == read_end::line) {
    return result;
  }
  return std::nullopt;
}

bool socket_client::wait_closed(std::chrono::milliseconds timeout) {
  for (;;) {
    std::string ignored;
    switch (read_line(ignored, timeout)) {
      case read_end::closed:
        return true;
      case read_end::timeout:
        return false;
      case read_end::line:
        break;
    }
  }
}

void socket_client::shutdown_write() {
  ::shutdown(fd_, SHUT_WR);
}

void socket_client::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace l4sim::testing
