#pragma once

// The PROXY protocol (HAProxy, versions 1 and 2: haproxy.org/download/2.9/doc/proxy-protocol.txt):
// a header a proxy writes to the backend before any client byte, carrying the client's
// address and port and the address and port the client connected to. Pure: no sockets,
// no CAF. The parser takes bytes in pieces of any size and says when the header is
// complete, how many bytes of the last piece it used, or why the header is bad; it never
// reads past the header and never buffers more than `max_header` bytes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace l4sim::protocols {

/// The connection a PROXY header describes.
struct proxy_info {
  /// False for v1 `UNKNOWN` and v2 `LOCAL` or an unspecified family: the connection is the
  /// proxy's own (e.g. a health check) and carries no client address.
  bool proxied = false;
  bool ipv6 = false;
  std::string src_address;  ///< numeric, the client
  uint16_t src_port = 0;
  std::string dst_address;  ///< numeric, what the client connected to
  uint16_t dst_port = 0;
};

inline bool operator==(const proxy_info& a, const proxy_info& b) {
  return a.proxied == b.proxied && a.ipv6 == b.ipv6 && a.src_address == b.src_address &&
         a.src_port == b.src_port && a.dst_address == b.dst_address && a.dst_port == b.dst_port;
}

/// The PROXY protocol versions a balancer can send.
enum class proxy_version { none, v1, v2 };

/// Parses `none`, `v1` or `v2` (`off` and the empty string are `none`).
std::optional<proxy_version> parse_proxy_version(std::string_view text);

/// Renders `none`, `v1` or `v2`.
std::string to_string(proxy_version v);

/// Encodes a v1 header: `PROXY TCP4 src dst sport dport\r\n` (TCP6 for IPv6; `PROXY
/// UNKNOWN\r\n` when not proxied or an address is not numeric).
std::string encode_proxy_v1(const proxy_info& info);

/// Encodes a v2 header: the 12-byte signature, version 2 with command PROXY (LOCAL when
/// not proxied), TCP over IPv4 or IPv6, and the addresses; no TLVs.
std::string encode_proxy_v2(const proxy_info& info);

/// Encodes `info` in `version`; empty for `none`.
std::string encode_proxy(proxy_version version, const proxy_info& info);

/// Reads one PROXY header, v1 or v2 (told apart by the first bytes), fed in pieces.
class proxy_parser {
 public:
  enum class status { need_more, done, invalid };

  /// The longest header accepted: v1 is at most 107 bytes by the spec; v2 may carry TLVs,
  /// which are skipped, up to this total.
  static constexpr size_t max_header = 1024;

  /// Feeds the next bytes. On `done`, `used` is how many of `bytes` belonged to the header
  /// (the rest is the first payload). After `done` or `invalid` the verdict stays and
  /// nothing more is used.
  status feed(std::string_view bytes, size_t& used);

  /// Returns the header read once `feed` said `done`.
  const proxy_info& info() const { return info_; }

  /// Returns why the header is bad once `feed` said `invalid`.
  const std::string& error() const { return error_; }

  /// Returns the version of the header read (or being read); `none` before its first byte.
  proxy_version version() const { return version_; }

 private:
  status fail(std::string why);
  status finish_v1();
  status finish_v2();

  std::string buf_;
  proxy_info info_;
  std::string error_;
  proxy_version version_ = proxy_version::none;
  status status_ = status::need_more;
};

}  // namespace l4sim::protocols
