// libFuzzer target: the line framer. The first byte picks the line bound, the second seeds
// how the rest is cut into fragments. Framing in fragments must give exactly what framing
// the whole at once gives, every line must fit the bound, and the lines with their
// terminators must spell the input back.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/line/line_framer.hpp"

using l4sim::protocols::frame_status;
using l4sim::protocols::line_framer;

namespace {

struct framed {
  std::vector<std::string> lines;
  bool too_long = false;
  std::string partial;
};

void drain(line_framer& framer, framed& out) {
  while (!out.too_long) {
    auto fr = framer.next();
    if (fr.status == frame_status::line) {
      out.lines.push_back(std::move(fr.line));
    } else {
      out.too_long = fr.status == frame_status::too_long;
      return;
    }
  }
}

framed frame(std::string_view bytes, std::size_t max_line, uint32_t cut_seed) {
  line_framer framer{max_line};
  framed out;
  uint32_t state = cut_seed;
  while (!bytes.empty()) {
    std::size_t n = bytes.size();
    if (cut_seed != 0) {
      state = state * 1103515245u + 12345u;
      n = std::min<std::size_t>(bytes.size(), 1 + (state >> 16) % (max_line + 3));
    }
    framer.feed(bytes.substr(0, n));
    bytes.remove_prefix(n);
    drain(framer, out);
  }
  drain(framer, out);
  if (auto rest = framer.take_partial()) {
    out.partial = *rest;
  }
  return out;
}

void require(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  std::size_t max_line = data[0] == 0 ? line_framer::default_max_line : data[0] % 64;
  uint32_t cut_seed = data[1] | 1u;
  std::string_view bytes{reinterpret_cast<const char*>(data) + 2, size - 2};
  auto whole = frame(bytes, max_line, 0);
  auto pieces = frame(bytes, max_line, cut_seed);
  require(whole.lines == pieces.lines);
  require(whole.too_long == pieces.too_long);
  require(whole.partial == pieces.partial);
  std::size_t pos = 0;
  for (const auto& line : whole.lines) {
    require(line.size() <= max_line);
    require(line.find('\n') == std::string::npos);
    require(bytes.substr(pos, line.size()) == line);
    pos += line.size();
    pos += bytes.substr(pos, 2) == "\r\n" ? 2 : 1;
    require(pos <= bytes.size() && bytes[pos - 1] == '\n');
  }
  if (!whole.too_long) {
    require(whole.partial == bytes.substr(pos));
  }
  return 0;
}
