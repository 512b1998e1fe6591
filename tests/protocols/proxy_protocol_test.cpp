#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "protocols/proxy_protocol.hpp"

using namespace l4sim::protocols;

namespace {

proxy_info v4_info() {
  return {true, false, "192.0.2.7", 51234, "127.0.0.1", 8000};
}

proxy_info v6_info() {
  return {true, true, "2001:db8::1", 443, "::1", 65535};
}

struct outcome {
  proxy_parser::status status = proxy_parser::status::need_more;
  proxy_info info;
  std::string payload;  // the bytes after the header
  std::string error;
};

/// Feeds `bytes` in pieces cut at `cuts` (ascending offsets), collecting the payload the
/// parser did not use.
outcome feed_cut(const std::string& bytes, const std::vector<size_t>& cuts) {
  proxy_parser parser;
  outcome out;
  size_t from = 0;
  auto ends = cuts;
  ends.push_back(bytes.size());
  for (auto to : ends) {
    std::string_view piece{bytes.data() + from, to - from};
    from = to;
    if (out.status == proxy_parser::status::done) {
      out.payload.append(piece);
      continue;
    }
    size_t used = 0;
    out.status = parser.feed(piece, used);
    REQUIRE(used <= piece.size());
    if (out.status == proxy_parser::status::done) {
      out.payload.append(piece.substr(used));
    } else if (out.status == proxy_parser::status::invalid) {
      break;
    } else {
      REQUIRE(used == piece.size());
    }
  }
  out.info = parser.info();
  out.error = parser.error();
  return out;
}

/// Every way to cut `bytes` in two, and byte by byte: each gives `want`.
void check_every_split(const std::string& bytes, const outcome& want) {
  std::vector<std::vector<size_t>> plans;
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    plans.push_back({cut});
  }
  std::vector<size_t> each;
  for (size_t i = 1; i < bytes.size(); ++i) {
    each.push_back(i);
  }
  plans.push_back(each);
  for (auto& plan : plans) {
    INFO("pieces cut at " << (plan.size() == 1 ? std::to_string(plan[0]) : "every byte"));
    auto got = feed_cut(bytes, plan);
    CHECK(got.status == want.status);
    if (want.status == proxy_parser::status::done) {
      CHECK(got.info == want.info);
      CHECK(got.payload == want.payload);
    }
  }
}

}  // namespace

TEST_CASE("PROXY v1 encodes as the spec's example lines", "[proxy]") {
  CHECK(encode_proxy_v1(v4_info()) == "PROXY TCP4 192.0.2.7 127.0.0.1 51234 8000\r\n");
  CHECK(encode_proxy_v1(v6_info()) == "PROXY TCP6 2001:db8::1 ::1 443 65535\r\n");
  CHECK(encode_proxy_v1(proxy_info{}) == "PROXY UNKNOWN\r\n");
  // Mixed families, or an IPv4-mapped client on an IPv4 listener.
  CHECK(encode_proxy_v1({true, false, "::1", 1, "127.0.0.1", 2}) == "PROXY UNKNOWN\r\n");
  CHECK(encode_proxy_v1({true, false, "::ffff:10.1.2.3", 1, "127.0.0.1", 2}) ==
        "PROXY TCP4 10.1.2.3 127.0.0.1 1 2\r\n");
  // Two IPv6 addresses stay IPv6 even when one is IPv4-mapped (a fuzzer find).
  CHECK(encode_proxy_v1({true, true, "2001:db8::1", 1, "::ffff:255.255.255.255", 2}) ==
        "PROXY TCP6 2001:db8::1 ::ffff:255.255.255.255 1 2\r\n");
}

TEST_CASE("PROXY v2 encodes signature, command, family, length and addresses", "[proxy]") {
  auto v2 = encode_proxy_v2(v4_info());
  REQUIRE(v2.size() == 16 + 12);
  CHECK(v2.substr(0, 12) == std::string("\r\n\r\n\0\r\nQUIT\n", 12));
  CHECK(v2[12] == '\x21');
  CHECK(v2[13] == '\x11');
  CHECK(v2[14] == 0);
  CHECK(v2[15] == 12);
  CHECK(v2.substr(16, 4) == std::string("\xc0\x00\x02\x07", 4));
  CHECK(v2.substr(24, 2) == std::string("\xc8\x22", 2));  // 51234
  CHECK(encode_proxy_v2(v6_info()).size() == 16 + 36);
  CHECK(encode_proxy_v2(proxy_info{}) == std::string("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16));
}

TEST_CASE("PROXY headers parse back from every fragment size, payload untouched", "[proxy]") {
  const std::string payload = "REQ hello\nPING\n";
  for (auto version : {proxy_version::v1, proxy_version::v2}) {
    for (auto info : {v4_info(), v6_info(), proxy_info{}}) {
      INFO(to_string(version) << " " << info.src_address);
      auto header = encode_proxy(version, info);
      outcome want;
      want.status = proxy_parser::status::done;
      want.info = info;
      want.payload = payload;
      check_every_split(header + payload, want);
    }
  }
}

TEST_CASE("PROXY v2 skips TLVs and accepts LOCAL and unspecified families", "[proxy]") {
  auto v2 = encode_proxy_v2(v4_info());
  // Append a 7-byte TLV (type 0x04 NOOP, length 4) and fix up the length.
  v2 += std::string(
      "\x04\x00\x04"
      "abcd",
      7);
  v2[15] = static_cast<char>(12 + 7);
  outcome want{proxy_parser::status::done, v4_info(), "x", ""};
  check_every_split(v2 + "x", want);
  // An AF_UNIX header (family 3): accepted, but carries no address we use.
  std::string unix_hdr =
      std::string("\r\n\r\n\0\r\nQUIT\n\x21\x31\x00\xd8", 16) + std::string(216, 'u');
  check_every_split(unix_hdr, {proxy_parser::status::done, proxy_info{}, "", ""});
}

TEST_CASE("bad PROXY headers are refused with a reason, at every fragment size", "[proxy]") {
  std::string long_v1 = "PROXY TCP4 " + std::string(120, '1') + "\r\n";
  std::vector<std::string> bad{
      "GET / HTTP/1.0\r\n\r\n",
      "REQ hello\n",
      "PROXY TCP4 192.0.2.7 127.0.0.1 51234\r\n",
      "PROXY TCP4 192.0.2.7 127.0.0.1 51234 8000 9\r\n",
      "PROXY TCP4 192.0.2.7  127.0.0.1 51234 8000\r\n",
      "PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n",
      "PROXY TCP6 192.0.2.7 ::1 1 2\r\n",
      "PROXY TCP4 192.0.2.7 127.0.0.1 65536 1\r\n",
      "PROXY TCP4 192.0.2.7 127.0.0.1 -1 1\r\n",
      "PROXY TCP4 192.0.2.7 127.0.0.1 1 2\n",
      "PROXY UDP4 192.0.2.7 127.0.0.1 1 2\r\n",
      "PROXY TCP4 host.example 127.0.0.1 1 2\r\n",
      long_v1,
      std::string("\r\n\r\n\0\r\nQUIT\n\x11\x11\x00\x0c", 16) + std::string(12, 'a'),
      std::string("\r\n\r\n\0\r\nQUIT\n\x22\x11\x00\x0c", 16) + std::string(12, 'a'),
      std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x04", 16) + std::string(4, 'a'),
      std::string("\r\n\r\n\0\r\nQUIT\n\x21\x21\xff\xff", 16),
      std::string("\r\n\r\n\0\r\nQUIX\n", 12),
  };
  for (auto& bytes : bad) {
    INFO(bytes);
    check_every_split(bytes, {proxy_parser::status::invalid, {}, "", ""});
    auto got = feed_cut(bytes, {});
    CHECK_FALSE(got.error.empty());
  }
}

TEST_CASE("a PROXY parser keeps its verdict", "[proxy]") {
  proxy_parser parser;
  size_t used = 0;
  CHECK(parser.feed("PROXY UNKNOWN\r\nabc", used) == proxy_parser::status::done);
  CHECK(used == 15);
  CHECK(parser.feed("more", used) == proxy_parser::status::done);
  CHECK(used == 0);
  proxy_parser bad;
  CHECK(bad.feed("X", used) == proxy_parser::status::invalid);
  CHECK(bad.feed("PROXY UNKNOWN\r\n", used) == proxy_parser::status::invalid);
  CHECK(used == 0);
}

TEST_CASE("PROXY versions parse by name", "[proxy]") {
  CHECK(parse_proxy_version("v1") == proxy_version::v1);
  CHECK(parse_proxy_version("v2") == proxy_version::v2);
  CHECK(parse_proxy_version("") == proxy_version::none);
  CHECK(parse_proxy_version("none") == proxy_version::none);
  CHECK_FALSE(parse_proxy_version("v3"));
  CHECK(to_string(proxy_version::v2) == "v2");
}
