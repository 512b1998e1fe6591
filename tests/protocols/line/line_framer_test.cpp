#include "protocols/line/line_framer.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using l4sim::protocols::frame_status;
using l4sim::protocols::line_framer;

namespace {

struct framed {
  std::vector<std::string> lines;
  bool too_long = false;
  std::string partial;
};

/// Feeds `bytes` in fragments of `step` bytes and collects what comes out.
framed frame_all(const std::string& bytes, size_t step, size_t max_line = 4096) {
  line_framer framer{max_line};
  framed out;
  for (size_t i = 0; i < bytes.size() && !out.too_long; i += step) {
    framer.feed(std::string_view{bytes}.substr(i, step));
    for (;;) {
      auto fr = framer.next();
      if (fr.status == frame_status::line) {
        out.lines.push_back(fr.line);
      } else {
        out.too_long = fr.status == frame_status::too_long;
        break;
      }
    }
  }
  if (auto rest = framer.take_partial()) {
    out.partial = *rest;
  }
  return out;
}

}  // namespace

TEST_CASE("framer yields the same lines for every fragment size", "[framer]") {
  std::string bytes = "REQ 1\nPING abc\r\n\nSTREAM 7 seq=3\r\nSLOW x\n";
  bytes += std::string{"bin\0\x01\xff junk", 11} + "\n";
  std::vector<std::string> expected{
      "REQ 1", "PING abc", "", "STREAM 7 seq=3", "SLOW x", std::string{"bin\0\x01\xff junk", 11}};
  for (size_t step = 1; step <= bytes.size(); ++step) {
    INFO("fragment size " << step);
    auto out = frame_all(bytes, step);
    CHECK(out.lines == expected);
    CHECK_FALSE(out.too_long);
    CHECK(out.partial.empty());
  }
}

TEST_CASE("framer keeps an unterminated tail as the partial line at close", "[framer]") {
  std::string bytes = "REQ 1\nPING no-newline";
  for (size_t step = 1; step <= bytes.size(); ++step) {
    auto out = frame_all(bytes, step);
    CHECK(out.lines == std::vector<std::string>{"REQ 1"});
    CHECK(out.partial == "PING no-newline");
  }
}

TEST_CASE("framer drops only one carriage return before the newline", "[framer]") {
  auto out = frame_all("a\r\r\nb\rc\n", 1);
  CHECK(out.lines == std::vector<std::string>{"a\r", "b\rc"});
}

TEST_CASE("framer rejects a line longer than the bound, with or without newline", "[framer]") {
  std::string exact(16, 'x');
  CHECK(frame_all(exact + "\n", 3, 16).lines == std::vector<std::string>{exact});
  for (size_t step : {1, 5, 17, 100}) {
    INFO("fragment size " << step);
    auto terminated = frame_all(std::string(17, 'x') + "\nREQ\n", step, 16);
    CHECK(terminated.too_long);
    CHECK(terminated.lines.empty());
    auto endless = frame_all(std::string(200, 'y'), step, 16);
    CHECK(endless.too_long);
  }
}

TEST_CASE("framer stays broken after a too-long line", "[framer]") {
  line_framer framer{4};
  framer.feed("toolong\nREQ\n");
  CHECK(framer.next().status == frame_status::too_long);
  framer.feed("REQ\n");
  CHECK(framer.next().status == frame_status::too_long);
  CHECK_FALSE(framer.take_partial());
}

TEST_CASE("framer handles many lines in one fragment and reports buffered bytes", "[framer]") {
  line_framer framer;
  std::string bytes;
  for (int i = 0; i < 1000; ++i) {
    bytes += "REQ " + std::to_string(i) + "\n";
  }
  framer.feed(bytes + "PAR");
  for (int i = 0; i < 1000; ++i) {
    auto fr = framer.next();
    REQUIRE(fr.status == frame_status::line);
    CHECK(fr.line == "REQ " + std::to_string(i));
  }
  CHECK(framer.next().status == frame_status::need_more);
  CHECK(framer.buffered() == 3);
}

namespace {

/// Feeds `bytes` as two fragments split at `at` and collects what comes out.
framed frame_split(const std::string& bytes, size_t at) {
  line_framer framer;
  framed out;
  for (auto part : {std::string_view{bytes}.substr(0, at), std::string_view{bytes}.substr(at)}) {
    framer.feed(part);
    for (auto fr = framer.next(); !out.too_long; fr = framer.next()) {
      if (fr.status == frame_status::line) {
        out.lines.push_back(fr.line);
      } else {
        out.too_long = fr.status == frame_status::too_long;
        break;
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the line bound excludes the terminator, whatever reads split the line", "[framer]") {
  // 4096 bytes is the most a line may hold, ended by "\n" or by "\r\n".
  for (size_t length : {4095u, 4096u, 4097u}) {
    for (std::string terminator : {"\n", "\r\n"}) {
      auto line = std::string(length, 'x');
      auto bytes = line + terminator + "REQ\n";
      bool fits = length <= line_framer::default_max_line;
      for (size_t at = 0; at <= bytes.size(); ++at) {
        INFO(length << " bytes, terminator size " << terminator.size() << ", split at " << at);
        auto out = frame_split(bytes, at);
        CHECK(out.too_long == !fits);
        if (fits) {
          CHECK(out.lines == std::vector<std::string>{line, "REQ"});
        } else {
          CHECK(out.lines.empty());
        }
      }
      for (size_t step : {1u, 2u, 3u, 7u, 64u, 4095u, 4096u, 4097u, 4098u, 4099u}) {
        INFO(length << " bytes, terminator size " << terminator.size() << ", step " << step);
        CHECK(frame_all(bytes, step).too_long == !fits);
      }
    }
  }
}

TEST_CASE("a line of the bound plus a carriage return not before a newline is too long",
          "[framer]") {
  auto line = std::string(4096, 'x') + "\r";
  for (size_t at = 0; at <= line.size() + 1; ++at) {
    INFO("split at " << at);
    CHECK(frame_split(line + "y\n", at).too_long);
    CHECK(frame_split(line + "\r\n", at).too_long);
  }
  // Unterminated, the trailing "\r" may still become "\r\n": not too long yet.
  CHECK_FALSE(frame_all(line, 4097).too_long);
}
