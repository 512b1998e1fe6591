#include "protocols/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace l4sim::protocols {

namespace {

constexpr std::string_view v1_prefix = "PROXY ";
constexpr size_t v1_max = 107;  // the spec's bound, CRLF included
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr size_t v2_fixed = 16;

/// Strips an IPv4-mapped IPv6 prefix (`::ffff:1.2.3.4` is `1.2.3.4`).
std::string unmapped(const std::string& address) {
  constexpr std::string_view mapped = "::ffff:";
  if (address.size() > mapped.size() && address.compare(0, mapped.size(), mapped) == 0 &&
      address.find('.') != std::string::npos) {
    return address.substr(mapped.size());
  }
  return address;
}

/// The family of a numeric address: 4, 6, or 0 when it is not numeric.
int family_of(const std::string& address, std::array<unsigned char, 16>& raw) {
  if (::inet_pton(AF_INET, address.c_str(), raw.data()) == 1) {
    return 4;
  }
  if (::inet_pton(AF_INET6, address.c_str(), raw.data()) == 1) {
    return 6;
  }
  return 0;
}

std::string ntop(int family, const unsigned char* raw) {
  char text[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family == 4 ? AF_INET : AF_INET6, raw, text, sizeof(text));
  return text;
}

std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint32_t value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

/// Both addresses of `info` in one family, or nothing (not proxied, mixed, not numeric).
struct raw_pair {
  int family = 0;
  std::array<unsigned char, 16> src{};
  std::array<unsigned char, 16> dst{};
};

std::optional<raw_pair> raw_addresses(const proxy_info& info) {
  if (!info.proxied) {
    return std::nullopt;
  }
  raw_pair p;
  auto src_family = family_of(info.src_address, p.src);
  auto dst_family = family_of(info.dst_address, p.dst);
  if (src_family == 0 || src_family != dst_family) {
    // An IPv4-mapped client on an IPv4 listener (or the reverse): both as IPv4. Only when
    // the families differ, so that two IPv6 addresses stay IPv6 (found by the fuzzer).
    src_family = family_of(unmapped(info.src_address), p.src);
    dst_family = family_of(unmapped(info.dst_address), p.dst);
  }
  if (src_family == 0 || src_family != dst_family) {
    return std::nullopt;
  }
  p.family = src_family;
  return p;
}

}  // namespace

std::optional<proxy_version> parse_proxy_version(std::string_view text) {
  if (text.empty() || text == "none" || text == "off") {
    return proxy_version::none;
  }
  if (text == "v1") {
    return proxy_version::v1;
  }
  if (text == "v2") {
    return proxy_version::v2;
  }
  return std::nullopt;
}

std::string to_string(proxy_version v) {
  switch (v) {
    case proxy_version::v1:
      return "v1";
    case proxy_version::v2:
      return "v2";
    case proxy_version::none:
      break;
  }
  return "none";
}

std::string encode_proxy_v1(const proxy_info& info) {
  auto raw = raw_addresses(info);
  if (!raw) {
    return "PROXY UNKNOWN\r\n";
  }
  return fmt::format("PROXY TCP{} {} {} {} {}\r\n", raw->family, ntop(raw->family, raw->src.data()),
                     ntop(raw->family, raw->dst.data()), info.src_port, info.dst_port);
}

std::string encode_proxy_v2(const proxy_info& info) {
  std::string out{v2_signature};
  auto raw = raw_addresses(info);
  if (!raw) {
    out += '\x20';  // version 2, LOCAL
    out += '\x00';  // UNSPEC
    out += std::string(2, '\0');
    return out;
  }
  size_t n = raw->family == 4 ? 4 : 16;
  out += '\x21';                                // version 2, PROXY
  out += raw->family == 4 ? '\x11' : '\x21';    // TCP over IPv4 / IPv6
  auto len = static_cast<uint16_t>(2 * n + 4);  // addresses and ports
  out += static_cast<char>(len >> 8);
  out += static_cast<char>(len & 0xff);
  out.append(reinterpret_cast<const char*>(raw->src.data()), n);
  out.append(reinterpret_cast<const char*>(raw->dst.data()), n);
  for (auto port : {info.src_port, info.dst_port}) {
    out += static_cast<char>(port >> 8);
    out += static_cast<char>(port & 0xff);
  }
  return out;
}

std::string encode_proxy(proxy_version version, const proxy_info& info) {
  switch (version) {
    case proxy_version::v1:
      return encode_proxy_v1(info);
    case proxy_version::v2:
      return encode_proxy_v2(info);
    case proxy_version::none:
      break;
  }
  return {};
}

proxy_parser::status proxy_parser::fail(std::string why) {
  error_ = std::move(why);
  status_ = status::invalid;
  return status_;
}

proxy_parser::status proxy_parser::feed(std::string_view bytes, size_t& used) {
  used = 0;
  while (status_ == status::need_more && used < bytes.size()) {
    auto rest = bytes.substr(used);
    if (version_ == proxy_version::none) {
      // Byte by byte until the first bytes say which version (or neither).
      buf_ += rest.front();
      ++used;
      bool v1 = buf_.size() <= v1_prefix.size() && v1_prefix.substr(0, buf_.size()) == buf_;
      bool v2 = buf_.size() <= v2_signature.size() && v2_signature.substr(0, buf_.size()) == buf_;
      if (!v1 && !v2) {
        return fail("not a PROXY protocol header");
      }
      if (v1 && buf_.size() == v1_prefix.size()) {
        version_ = proxy_version::v1;
      } else if (v2 && buf_.size() == v2_signature.size()) {
        version_ = proxy_version::v2;
      }
      continue;
    }
    if (version_ == proxy_version::v1) {
      auto room = v1_max - buf_.size();
      auto take = rest.substr(0, room);
      auto lf = take.find('\n');
      if (lf != std::string_view::npos) {
        buf_.append(take.substr(0, lf + 1));
        used += lf + 1;
        return finish_v1();
      }
      buf_.append(take);
      used += take.size();
      if (buf_.size() >= v1_max) {
        return fail("v1 header has no CRLF within 107 bytes");
      }
      continue;
    }
    // v2: the fixed part, then the length it announces.
    size_t want = v2_fixed;
    if (buf_.size() >= v2_fixed) {
      want += (static_cast<size_t>(static_cast<unsigned char>(buf_[14])) << 8) |
              static_cast<unsigned char>(buf_[15]);
    }
    auto take = rest.substr(0, want - buf_.size());
    buf_.append(take);
    used += take.size();
    if (buf_.size() == v2_fixed) {
      auto ver_cmd = static_cast<unsigned char>(buf_[12]);
      if ((ver_cmd >> 4) != 2) {
        return fail(fmt::format("v2 header has version {}, not 2", ver_cmd >> 4));
      }
      if ((ver_cmd & 0xf) > 1) {
        return fail(fmt::format("v2 header has command {}, not LOCAL or PROXY", ver_cmd & 0xf));
      }
      size_t len = (static_cast<size_t>(static_cast<unsigned char>(buf_[14])) << 8) |
                   static_cast<unsigned char>(buf_[15]);
      if (v2_fixed + len > max_header) {
        return fail(
            fmt::format("v2 header of {} bytes is longer than {}", v2_fixed + len, max_header));
      }
    }
    if (buf_.size() >= v2_fixed && buf_.size() == want) {
      // Re-read want: at exactly 16 bytes it was computed before the length was known.
      size_t len = (static_cast<size_t>(static_cast<unsigned char>(buf_[14])) << 8) |
                   static_cast<unsigned char>(buf_[15]);
      if (buf_.size() == v2_fixed + len) {
        return finish_v2();
      }
    }
  }
  return status_;
}

proxy_parser::status proxy_parser::finish_v1() {
  if (buf_.size() < v1_prefix.size() + 2 || buf_[buf_.size() - 2] != '\r') {
    return fail("v1 header does not end in CRLF");
  }
  std::string_view line{buf_};
  line = line.substr(v1_prefix.size(), line.size() - v1_prefix.size() - 2);
  std::vector<std::string_view> words;
  while (true) {
    auto space = line.find(' ');
    words.push_back(line.substr(0, space));
    if (space == std::string_view::npos) {
      break;
    }
    line.remove_prefix(space + 1);
  }
  if (words[0] == "UNKNOWN") {
    // The rest of the line, if any, is to be ignored (spec 2.1).
    info_ = proxy_info{};
    status_ = status::done;
    return status_;
  }
  if (words[0] != "TCP4" && words[0] != "TCP6") {
    return fail("v1 header protocol is not TCP4, TCP6 or UNKNOWN");
  }
  if (words.size() != 5) {
    return fail("v1 header needs: protocol, two addresses, two ports, single spaces");
  }
  int want = words[0] == "TCP4" ? 4 : 6;
  std::array<unsigned char, 16> raw{};
  proxy_info info;
  info.proxied = true;
  info.ipv6 = want == 6;
  for (size_t i : {size_t{1}, size_t{2}}) {
    std::string text{words[i]};
    if (family_of(text, raw) != want) {
      return fail(fmt::format("v1 header address {} is not IPv{}",
                              i == 1 ? "source" : "destination", want));
    }
    (i == 1 ? info.src_address : info.dst_address) = ntop(want, raw.data());
  }
  auto sport = parse_port(words[3]);
  auto dport = parse_port(words[4]);
  if (!sport || !dport) {
    return fail("v1 header port is not a number in 0..65535");
  }
  info.src_port = *sport;
  info.dst_port = *dport;
  info_ = std::move(info);
  status_ = status::done;
  return status_;
}

proxy_parser::status proxy_parser::finish_v2() {
  auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
  size_t len = buf_.size() - v2_fixed;
  info_ = proxy_info{};
  bool proxy_cmd = (p[12] & 0xf) == 1;
  auto family = p[13] >> 4;
  auto transport = p[13] & 0xf;
  // LOCAL, and families or transports we do not relay (UNSPEC, UNIX, DGRAM): the spec says
  // to accept the header and use the connection's own addresses.
  if (!proxy_cmd || transport != 1 || (family != 1 && family != 2)) {
    status_ = status::done;
    return status_;
  }
  size_t n = family == 1 ? 4 : 16;
  if (len < 2 * n + 4) {
    return fail(fmt::format("v2 header of {} address bytes is too short for IPv{}", len,
                            family == 1 ? 4 : 6));
  }
  const unsigned char* a = p + v2_fixed;
  info_.proxied = true;
  info_.ipv6 = family == 2;
  info_.src_address = ntop(family == 1 ? 4 : 6, a);
  info_.dst_address = ntop(family == 1 ? 4 : 6, a + n);
  info_.src_port = static_cast<uint16_t>((a[2 * n] << 8) | a[2 * n + 1]);
  info_.dst_port = static_cast<uint16_t>((a[2 * n + 2] << 8) | a[2 * n + 3]);
  status_ = status::done;
  return status_;
}

}  // namespace l4sim::protocols
