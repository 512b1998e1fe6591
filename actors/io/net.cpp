#include "actors/io/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <caf/sec.hpp>

#include "protocols/errors.hpp"

namespace l4sim::actors {

namespace {

using protocols::l4_errc;

/// A sockaddr big enough for IPv4 and IPv6, with its length.
struct socket_address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_UNSPEC;
};

/// Parses a numeric address; "" and "0.0.0.0" mean any IPv4 address.
bool make_address(const std::string& host, uint16_t port, socket_address& out) {
  std::memset(&out.storage, 0, sizeof(out.storage));
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (host.empty() || inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    out.family = AF_INET;
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    out.family = AF_INET6;
    return true;
  }
  return false;
}

std::string render(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (ss.ss_family == AF_INET) {
    auto& v4 = reinterpret_cast<const sockaddr_in&>(ss);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
    return fmt::format("{}:{}", text, ntohs(v4.sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto& v6 = reinterpret_cast<const sockaddr_in6&>(ss);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    return fmt::format("[{}]:{}", text, ntohs(v6.sin6_port));
  }
  return "?";
}

}  // namespace

caf::expected<int> open_listener(const std::string& host, uint16_t port, int backlog,
                                 bool reuse_port) {
  socket_address addr;
  auto resolved = resolve_host(host);
  if (!resolved) {
    return resolved.error();
  }
  if (!make_address(*resolved, port, addr)) {
    return caf::make_error(l4_errc::bind_failed, fmt::format("bad address {}", host));
  }
  int fd = ::socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return caf::make_error(l4_errc::bind_failed,
                           fmt::format("cannot create a socket: {}", std::strerror(errno)));
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr.storage), addr.length) != 0 ||
      ::listen(fd, backlog) != 0) {
    auto reason = std::strerror(errno);
    ::close(fd);
    return caf::make_error(l4_errc::bind_failed,
                           fmt::format("cannot listen on {}:{}: {}", host, port, reason));
  }
  return fd;
}

uint16_t local_port_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return 0;
  }
  if (ss.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in&>(ss).sin_port);
  }
  if (ss.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6&>(ss).sin6_port);
  }
  return 0;
}

std::string peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return "?";
  }
  return render(ss);
}

namespace {

/// Returns the numeric address and port of `ss` ("" and 0 for other families).
std::pair<std::string, uint16_t> endpoint_of(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    return {text, ntohs(a->sin_port)};
  }
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    return {text, ntohs(a->sin6_port)};
  }
  return {"", 0};
}

}  // namespace

std::pair<std::string, uint16_t> peer_endpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {"", 0};
  }
  return endpoint_of(ss);
}

std::pair<std::string, uint16_t> local_endpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return {"", 0};
  }
  return endpoint_of(ss);
}

caf::expected<int> start_connect(const std::string& address, uint16_t port,
                                 const std::string& source) {
  socket_address addr;
  if (!make_address(address, port, addr)) {
    return caf::make_error(l4_errc::upstream_connect_failed,
                           fmt::format("not a numeric address: {}", address));
  }
  // A shortage on our side (no fds, no buffers, no ephemeral port) is not the peer's
  // doing: it gets its own code so that nobody marks the backend down for it.
  auto code_of = [](int err) {
    return protocols::is_local_errno(err) ? l4_errc::local_failure
                                          : l4_errc::upstream_connect_failed;
  };
  int fd = ::socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    auto err = errno;
    return caf::make_error(code_of(err),
                           fmt::format("cannot create a socket: {}", std::strerror(err)));
  }
  if (!source.empty()) {
    socket_address local;
    if (!make_address(source, 0, local) ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&local.storage), local.length) != 0) {
      auto err = errno;
      ::close(fd);
      return caf::make_error(l4_errc::local_failure, fmt::format("cannot bind to source {}: {}",
                                                                 source, std::strerror(err)));
    }
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr.storage), addr.length) != 0 &&
      errno != EINPROGRESS) {
    auto err = errno;
    ::close(fd);
    return caf::make_error(code_of(err),
                           fmt::format("connect to {}:{}: {}", address, port, std::strerror(err)));
  }
  return fd;
}

int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    return errno;
  }
  // A reset means the connect had completed: the peer accepted, maybe sent something, then
  // reset. Hand the socket over; its reader gets the bytes and then the close.
  if (err == ECONNRESET || err == EPIPE) {
    return 0;
  }
  if (err != 0) {
    return err;
  }
  // Still handshaking, or past it. Past it includes a socket the peer already closed or
  // reset (getpeername would fail on those): they are handed over like a reset.
  tcp_info info{};
  socklen_t info_len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &info_len) != 0) {
    return errno;
  }
  return info.tcpi_state == TCP_SYN_SENT ? EINPROGRESS : 0;
}

caf::expected<std::string> resolve_host(const std::string& host) {
  socket_address probe;
  if (host.empty() || make_address(host, 0, probe)) {
    return host;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return caf::make_error(l4_errc::bad_config,
                           fmt::format("cannot resolve {}: {}", host, gai_strerror(rc)));
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  auto text = render(ss);
  // render() appends ":port"; keep only the address part.
  auto colon = text.rfind(':');
  text = text.substr(0, colon);
  if (!text.empty() && text.front() == '[') {
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

void shutdown_both(int fd) {
  ::shutdown(fd, SHUT_RDWR);
}

uint64_t raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return 0;
  }
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur;
}

}  // namespace l4sim::actors
