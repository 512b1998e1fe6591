#include <catch2/catch.hpp>

#include "protocols/backend_list.hpp"

using namespace l4sim::protocols;

namespace {

std::vector<std::string> names_of(const std::string& text) {
  std::string why;
  auto list = parse_backend_list(text, why);
  INFO(why);
  REQUIRE(list);
  std::vector<std::string> names;
  for (auto& e : *list) {
    names.push_back(e.name);
  }
  return names;
}

}  // namespace

TEST_CASE("backend list names entries by host while the host is unique", "[backend-list]") {
  CHECK(names_of("server-1:8080,server-2:8080") ==
        std::vector<std::string>{"server-1", "server-2"});
  // The original tool's own local run: three backends on localhost.
  CHECK(names_of("localhost:8080,localhost:8081,localhost:8082") ==
        std::vector<std::string>{"localhost:8080", "localhost:8081", "localhost:8082"});
  CHECK(names_of("localhost:8080,other:8081") == std::vector<std::string>{"localhost", "other"});
  CHECK(names_of("127.0.0.1:8080") == std::vector<std::string>{"127.0.0.1:8080"});
  CHECK(names_of("[::1]:9") == std::vector<std::string>{"[::1]:9"});
  // An explicit name takes precedence; the unnamed entry that would clash gets host:port.
  CHECK(names_of("db=a:1,db:2") == std::vector<std::string>{"db", "db:2"});
}

TEST_CASE("backend list reads weights as the original wrote them", "[backend-list]") {
  std::string why;
  auto list = parse_backend_list("a=127.0.0.1:8080 weight=3, b=127.0.0.1:8081", why);
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].weight == 3);
  CHECK((*list)[0].where == endpoint{"127.0.0.1", 8080});
  CHECK((*list)[1].weight == 1);
  auto again = parse_backend_list(format_backend_list(*list), why);
  REQUIRE(again);
  CHECK((*again)[0].name == "a");
  CHECK((*again)[0].weight == 3);
  CHECK((*again)[1].name == "b");
}

TEST_CASE("backend list reads maxconn and renders it back", "[backend-list]") {
  std::string why;
  auto list =
      parse_backend_list("a=127.0.0.1:8080 weight=3 maxconn=10,b=127.0.0.1:8081 maxconn=0", why);
  INFO(why);
  REQUIRE(list);
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].weight == 3);
  CHECK((*list)[0].max_conns == 10);
  CHECK((*list)[1].max_conns == 0);
  CHECK(format_backend_list(*list) == "a=127.0.0.1:8080 weight=3 maxconn=10,b=127.0.0.1:8081");
  auto again = parse_backend_list(format_backend_list(*list), why);
  REQUIRE(again);
  CHECK(*again == *list);
}

TEST_CASE("backend list refuses malformed entries and says which", "[backend-list]") {
  for (auto bad : {"", "a:1,nope", "=b:2", "a:1 weight=0", "a:1 weight=-1", "a:1 weight=1001",
                   "a:1 weight=x", "a:1 weight=", "a:1 weight", "a:1 color=red", "a:1,a:1",
                   "x=a:1,x=b:2", "a:1 maxconn=-1", "a:1 maxconn=x", "a:1 maxconn=1000001",
                   "a:1 weight=2 weight=3", "a:1 maxconn=1 maxconn=1"}) {
    std::string why;
    INFO(bad);
    CHECK_FALSE(parse_backend_list(bad, why));
    CHECK_FALSE(why.empty());
  }
  std::string why;
  parse_backend_list("a:1,b:70000", why);
  CHECK_THAT(why, Catch::Contains("b:70000"));
}

TEST_CASE("backend list errors name the entry and the option", "[backend-list]") {
  std::string why;
  CHECK_FALSE(parse_backend_list("a=127.0.0.1:1,b=127.0.0.1:2 colour=red", why));
  CHECK_THAT(why, Catch::Contains("b=127.0.0.1:2 colour=red"));
  CHECK_THAT(why, Catch::Contains("unknown option \"colour=red\""));
  CHECK_FALSE(parse_backend_list("a=127.0.0.1:1 weight=0", why));
  CHECK_THAT(why, Catch::Contains("a=127.0.0.1:1 weight=0"));
  CHECK_FALSE(parse_backend_list("a=127.0.0.1:1,a=127.0.0.1:2", why));
  CHECK_THAT(why, Catch::Contains("\"a\""));
}
