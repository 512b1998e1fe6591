// libFuzzer target: the PROXY protocol parser. The first byte seeds how the rest is cut
// into fragments. Parsing in fragments must give exactly what parsing the whole at once
// gives (verdict, addresses, bytes used), the parser never uses more than it was given nor
// more than max_header bytes, and a header it accepts, encoded again in its version,
// parses to the same addresses.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocols/proxy_protocol.hpp"

using l4sim::protocols::proxy_info;
using l4sim::protocols::proxy_parser;
using l4sim::protocols::proxy_version;

namespace {

struct parsed {
  proxy_parser::status status = proxy_parser::status::need_more;
  proxy_info info;
  proxy_version version = proxy_version::none;
  std::size_t header_bytes = 0;  // input bytes the header took
};

void require(bool ok) {
  if (!ok) {
    std::abort();
  }
}

parsed parse(std::string_view bytes, uint32_t cut_seed) {
  proxy_parser parser;
  parsed out;
  uint32_t state = cut_seed;
  while (!bytes.empty() && out.status == proxy_parser::status::need_more) {
    std::size_t n = bytes.size();
    if (cut_seed != 0) {
      state = state * 1103515245u + 12345u;
      n = std::min<std::size_t>(bytes.size(), 1 + (state >> 16) % 40);
    }
    std::size_t used = 0;
    out.status = parser.feed(bytes.substr(0, n), used);
    require(used <= n);
    if (out.status == proxy_parser::status::need_more) {
      require(used == n);
    }
    out.header_bytes += out.status == proxy_parser::status::invalid ? 0 : used;
    bytes.remove_prefix(n);
  }
  require(out.header_bytes <= proxy_parser::max_header);
  if (out.status == proxy_parser::status::invalid) {
    require(!parser.error().empty());
  }
  out.info = parser.info();
  out.version = parser.version();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  uint32_t cut_seed = data[0] | 1u;
  std::string_view bytes{reinterpret_cast<const char*>(data) + 1, size - 1};
  auto whole = parse(bytes, 0);
  auto pieces = parse(bytes, cut_seed);
  require(whole.status == pieces.status);
  if (whole.status != proxy_parser::status::done) {
    return 0;
  }
  require(whole.header_bytes == pieces.header_bytes);
  require(whole.info == pieces.info);
  auto again = l4sim::protocols::encode_proxy(whole.version, whole.info);
  auto round = parse(again, 0);
  require(round.status == proxy_parser::status::done);
  require(round.info == whole.info);
  require(round.header_bytes == again.size());
  return 0;
}
