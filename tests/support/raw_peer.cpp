#include "tests/support/raw_peer.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <vector>

namespace l4sim::testing {

raw_listener::raw_listener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::listen(fd_, 128);
  socklen_t len = sizeof(addr);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

raw_listener::~raw_listener() {
  ::close(fd_);
}

int raw_listener::accept_one(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) {
    return -1;
  }
  return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
}

int connect_to(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void set_io_timeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void stream_hash::add(const char* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    value ^= static_cast<unsigned char>(data[i]);
    value *= 1099511628211ULL;
  }
  bytes += n;
}

stream_hash send_random(int fd, uint64_t total, uint64_t seed) {
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<size_t> size_dist{1, 65536};
  std::vector<char> chunk(65536);
  stream_hash h;
  while (h.bytes < total) {
    auto n = std::min<uint64_t>(size_dist(rng), total - h.bytes);
    for (size_t i = 0; i < n; ++i) {
      chunk[i] = static_cast<char>(rng());
    }
    size_t done = 0;
    while (done < n) {
      auto rc = ::send(fd, chunk.data() + done, n - done, MSG_NOSIGNAL);
      if (rc <= 0) {
        if (rc < 0 && errno == EINTR) {
          continue;
        }
        return h;
      }
      h.add(chunk.data() + done, static_cast<size_t>(rc));
      done += static_cast<size_t>(rc);
    }
  }
  return h;
}

stream_hash receive_all(int fd, uint64_t limit) {
  std::vector<char> buf(65536);
  stream_hash h;
  while (h.bytes < limit) {
    auto rc = ::recv(fd, buf.data(), std::min<uint64_t>(buf.size(), limit - h.bytes), 0);
    if (rc <= 0) {
      if (rc < 0 && errno == EINTR) {
        continue;
      }
      break;
    }
    h.add(buf.data(), static_cast<size_t>(rc));
  }
  return h;
}

size_t open_fd_count() {
  size_t n = 0;
  if (auto* dir = ::opendir("/proc/self/fd")) {
    while (::readdir(dir) != nullptr) {
      ++n;
    }
    ::closedir(dir);
  }
  return n;
}

}  // namespace l4sim::testing
