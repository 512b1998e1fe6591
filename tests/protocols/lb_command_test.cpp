#include <catch2/catch.hpp>

#include "protocols/lb_command.hpp"

using namespace l4sim::protocols;

namespace {

std::optional<lb_command> parse(const std::string& line, std::string& why) {
  why.clear();
  return parse_lb_command(line, why);
}

}  // namespace

TEST_CASE("lb commands parse with their arguments", "[lb-command]") {
  std::string why;
  auto add = parse("add server-4 127.0.0.1:8084 weight=3 maxconn=10", why);
  REQUIRE(add);
  CHECK(add->verb == lb_verb::add);
  CHECK(add->entry.name == "server-4");
  CHECK(add->entry.where.port == 8084);
  CHECK(add->entry.weight == 3);
  CHECK(add->entry.max_conns == 10);
  auto plain = parse("  add b localhost:9000", why);
  REQUIRE(plain);
  CHECK(plain->entry.weight == 1);
  CHECK(plain->entry.max_conns == 0);
  auto rm = parse("rm server-2", why);
  REQUIRE(rm);
  CHECK(rm->verb == lb_verb::rm);
  CHECK(rm->name == "server-2");
  CHECK(parse("drain server-2", why)->verb == lb_verb::drain);
  CHECK(parse("ready server-2", why)->verb == lb_verb::ready);
  auto weight = parse("weight server-2 7", why);
  REQUIRE(weight);
  CHECK(weight->weight == 7);
  CHECK(parse("algo lc", why)->name == "lc");
  CHECK(parse("stats", why)->verb == lb_verb::stats);
  CHECK(parse("quit", why)->verb == lb_verb::quit);
}

TEST_CASE("bad lb commands are refused naming the entry", "[lb-command]") {
  std::string why;
  CHECK_FALSE(parse("frobnicate x", why));
  CHECK_THAT(why, Catch::Contains("frobnicate"));
  CHECK_FALSE(parse("rm", why));
  CHECK_FALSE(parse("rm a b", why));
  CHECK_FALSE(parse("weight server-2 0", why));
  CHECK_THAT(why, Catch::Contains("server-2"));
  CHECK_FALSE(parse("weight server-2 -1", why));
  CHECK_FALSE(parse("weight server-2 1001", why));
  CHECK_FALSE(parse("add server-4 nowhere", why));
  CHECK_THAT(why, Catch::Contains("server-4"));
  CHECK_FALSE(parse("add server-4 127.0.0.1:1 weight=0", why));
  CHECK_THAT(why, Catch::Contains("server-4"));
  CHECK_FALSE(parse("add server-4 127.0.0.1:1 colour=red", why));
  CHECK_THAT(why, Catch::Contains("colour"));
  CHECK_FALSE(parse("add a=b 127.0.0.1:1", why));
  CHECK_FALSE(parse("add a 127.0.0.1:1,b=127.0.0.1:2", why));
  CHECK_FALSE(parse("", why));
}
