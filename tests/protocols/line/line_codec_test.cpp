#include "protocols/line/line_codec.hpp"

#include <catch2/catch.hpp>

using namespace l4sim::protocols;

namespace {

std::string answer(std::string_view line) {
  return reply_for(parse_command(line), line);
}

}  // namespace

TEST_CASE("codec answers each command as the protocol says", "[codec]") {
  CHECK(answer("REQ") == "ACK\n");
  CHECK(answer("REQ 7") == "ACK\n");
  CHECK(answer("PING") == "PONG\n");
  CHECK(answer("PING abc-42") == "PONG abc-42\n");
  CHECK(answer("STREAM 3 seq=9") == "STREAM_ACK\n");
  CHECK(answer("SLOW 12") == "ACK\n");
}

TEST_CASE("codec answers anything else with a quoted ERR", "[codec]") {
  CHECK(answer("HELLO") == "ERR unknown command: \"HELLO\"\n");
  CHECK(answer("") == "ERR unknown command: \"\"\n");
  CHECK(answer("req 1") == "ERR unknown command: \"req 1\"\n");
  CHECK(answer("REQUEST") == "ERR unknown command: \"REQUEST\"\n");
  CHECK(answer(std::string{"a\0\"b\\", 5}) == "ERR unknown command: \"a\\x00\\\"b\\\\\"\n");
  CHECK(answer("\xff\x01") == "ERR unknown command: \"\\xff\\x01\"\n");
}

TEST_CASE("codec parses the replies a client receives", "[codec]") {
  CHECK(parse_reply("ACK").kind == reply_kind::ack);
  auto pong = parse_reply("PONG 17");
  CHECK(pong.kind == reply_kind::pong);
  CHECK(pong.arg == "17");
  CHECK(parse_reply("STREAM_ACK").kind == reply_kind::stream_ack);
  auto err = parse_reply("ERR unknown command: \"x\"");
  CHECK(err.kind == reply_kind::err);
  CHECK(err.arg == "unknown command: \"x\"");
  CHECK(parse_reply("WAT").kind == reply_kind::unknown);
}
