#include <unistd.h>

#include <csignal>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "actors/io/net.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim;
using namespace l4sim::testing;

namespace {

std::map<std::string, std::string> server_env() {
  return {{"SERVER_PORT", "0"},
          {"SERVER_ID", "server-1"},
          {"SERVER_HOST", "127.0.0.1"},
          {"SERVER_STATS_INTERVAL", "0"}};
}

}  // namespace

TEST_CASE("client process runs for its duration against a server and prints the table",
          "[client-app]") {
  child_process server{{app_path("server")}, server_env()};
  auto port = server.number_after("ready on port ");
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", fmt::format("localhost:{}", port)},
                        {"CLIENT_RATE", "10"},
                        {"CLIENT_DURATION_SECS", "1"},
                        {"CLIENT_STATS_INTERVAL", "0.3"},
                        {"CLIENT_SEED", "7"}}};
  CHECK(client.wait_exit(patience) == 0);
  auto out = client.output();
  CHECK_THAT(out, Catch::Contains("target 127.0.0.1:") && Catch::Contains("seed=7"));
  CHECK_THAT(out, Catch::Contains("active=") && Catch::Contains("started="));
  CHECK_THAT(out, Catch::Contains("[clients] final") && Catch::Contains("total"));
  CHECK_THAT(out, Catch::Contains("real"));
}

TEST_CASE("client process stops its clients and prints the table on SIGTERM", "[client-app]") {
  child_process server{{app_path("server")}, server_env()};
  auto port = server.number_after("ready on port ");
  child_process client{{app_path("client"), "--target", fmt::format("127.0.0.1:{}", port), "--mix",
                        "idle=1", "--stats-interval", "0.1"},
                       {}};
  REQUIRE(client.wait_for_output("active=1", patience));
  client.signal(SIGTERM);
  CHECK(client.wait_exit(patience) == 0);
  auto out = client.output();
  CHECK_THAT(out, Catch::Contains("[clients] final") && Catch::Contains("idle"));
  CHECK_THAT(out, Catch::Contains("mix idle=1"));
}

TEST_CASE("client process counts refused connects in its table", "[client-app]") {
  auto probe = actors::open_listener("127.0.0.1", 0);
  REQUIRE(probe);
  auto port = actors::local_port_of(*probe);
  ::close(*probe);
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", fmt::format("127.0.0.1:{}", port)},
                        {"CLIENT_MIX", "real=1"},
                        {"CLIENT_RATE", "20"},
                        {"CLIENT_DURATION_SECS", "0.3"},
                        {"CLIENT_STATS_INTERVAL", "0.1"}}};
  CHECK(client.wait_exit(patience) == 0);
  CHECK_THAT(client.output(), Catch::Contains("(refused=") && Catch::Contains("[clients] final"));
}

TEST_CASE("client process exits 2 naming a malformed or missing variable", "[client-app]") {
  auto bad = [](std::map<std::string, std::string> env, const std::string& name) {
    env.emplace("CLIENT_TARGET", "127.0.0.1:9");
    child_process proc{{app_path("client")}, env};
    CHECK(proc.wait_exit(patience) == 2);
    CHECK_THAT(proc.output(), Catch::Contains(name));
  };
  SECTION("missing target") {
    child_process proc{{app_path("client")}, {{"CLIENT_TARGET", ""}}};
    CHECK(proc.wait_exit(patience) == 2);
    CHECK_THAT(proc.output(), Catch::Contains("CLIENT_TARGET is required"));
  }
  SECTION("target without port") {
    bad({{"CLIENT_TARGET", "localhost"}}, "CLIENT_TARGET");
  }
  SECTION("rate") {
    bad({{"CLIENT_RATE", "fast"}}, "CLIENT_RATE");
  }
  SECTION("mix") {
    bad({{"CLIENT_MIX", "real=50,bogus=5"}}, "CLIENT_MIX");
  }
  SECTION("arrival") {
    bad({{"CLIENT_ARRIVAL", "bursty"}}, "CLIENT_ARRIVAL");
  }
  SECTION("seed") {
    bad({{"CLIENT_SEED", "-1"}}, "CLIENT_SEED");
  }
  SECTION("duration") {
    bad({{"CLIENT_DURATION_SECS", "soon"}}, "CLIENT_DURATION_SECS");
  }
  SECTION("max active") {
    bad({{"CLIENT_MAX_ACTIVE", "many"}}, "CLIENT_MAX_ACTIVE");
  }
  SECTION("connect timeout") {
    bad({{"CLIENT_CONNECT_TIMEOUT_MS", "0"}}, "CLIENT_CONNECT_TIMEOUT_MS");
  }
  SECTION("stats interval") {
    bad({{"CLIENT_STATS_INTERVAL", "x"}}, "CLIENT_STATS_INTERVAL");
  }
}
