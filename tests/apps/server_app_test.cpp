#include <csignal>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim::testing;

TEST_CASE("server process serves the protocol and prints final stats on SIGTERM", "[server-app]") {
  child_process proc{{app_path("server")},
                     {{"SERVER_PORT", "0"},
                      {"SERVER_ID", "server-9"},
                      {"SERVER_HOST", "127.0.0.1"},
                      {"SERVER_DELAY_MS", "10"}}};
  auto port = proc.number_after("ready on port ");
  socket_client c{port};
  REQUIRE(c.connected());
  c.send("REQ 1\nPING 5\n");
  CHECK(c.line() == "ACK");
  CHECK(c.line() == "PONG 5");
  proc.signal(SIGTERM);
  CHECK(proc.wait_exit(patience) == 0);
  CHECK_THAT(proc.output(), Catch::Contains("final [server-9]") && Catch::Contains("req=1"));
}

TEST_CASE("server flags override the environment", "[server-app]") {
  child_process proc{{app_path("server"), "--port", "0", "--id", "flagged", "--host", "127.0.0.1"},
                     {{"SERVER_PORT", "1"}, {"SERVER_ID", "from-env"}}};
  proc.number_after("ready on port ");
  CHECK_THAT(proc.output(), Catch::Contains("[flagged]"));
}

TEST_CASE("server exits 2 naming a malformed or missing variable", "[server-app]") {
  SECTION("malformed port") {
    child_process proc{{app_path("server")}, {{"SERVER_PORT", "80x"}, {"SERVER_ID", "s"}}};
    CHECK(proc.wait_exit(patience) == 2);
    CHECK_THAT(proc.output(), Catch::Contains("SERVER_PORT"));
  }
  SECTION("missing id") {
    child_process proc{{app_path("server")}, {{"SERVER_PORT", "0"}, {"SERVER_ID", ""}}};
    CHECK(proc.wait_exit(patience) == 2);
    CHECK_THAT(proc.output(), Catch::Contains("SERVER_ID is required"));
  }
  SECTION("malformed delay") {
    child_process proc{{app_path("server")},
                       {{"SERVER_PORT", "0"}, {"SERVER_ID", "s"}, {"SERVER_DELAY_MS", "slow"}}};
    CHECK(proc.wait_exit(patience) == 2);
    CHECK_THAT(proc.output(), Catch::Contains("SERVER_DELAY_MS"));
  }
  SECTION("chaos above 100") {
    child_process proc{{app_path("server")},
                       {{"SERVER_PORT", "0"}, {"SERVER_ID", "s"}, {"SERVER_CHAOS_PCT", "101"}}};
    CHECK(proc.wait_exit(patience) == 2);
    CHECK_THAT(proc.output(), Catch::Contains("SERVER_CHAOS_PCT"));
  }
}

TEST_CASE("server exits non-zero with a clear message when the port is in use", "[server-app]") {
  child_process first{{app_path("server")},
                      {{"SERVER_PORT", "0"}, {"SERVER_ID", "a"}, {"SERVER_HOST", "127.0.0.1"}}};
  auto port = first.number_after("ready on port ");
  child_process second{
      {app_path("server")},
      {{"SERVER_PORT", std::to_string(port)}, {"SERVER_ID", "b"}, {"SERVER_HOST", "127.0.0.1"}}};
  auto rc = second.wait_exit(patience);
  REQUIRE(rc);
  CHECK(*rc != 0);
  CHECK_THAT(second.output(), Catch::Contains("Address already in use"));
}

TEST_CASE("server --help documents every variable", "[server-app]") {
  child_process proc{{app_path("server"), "--help"}};
  CHECK(proc.wait_exit(patience) == 0);
  for (auto var : {"SERVER_PORT", "SERVER_ID", "SERVER_DELAY_MS", "SERVER_MAX_CONNS",
                   "SERVER_TIMEOUT_SECS", "SERVER_CHAOS_PCT", "SERVER_HANG_MS"}) {
    CHECK_THAT(proc.output(), Catch::Contains(var));
  }
}
