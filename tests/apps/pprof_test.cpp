// The pprof routes of the admin port (apps/common/admin_pprof.hpp) on a real lb under load:
// the CPU profile it returns is one Debian's google-pprof reads against the lb binary, and
// the heap route answers where tcmalloc is linked and says why not where it is not.

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <httplib.h>

#include <catch2/catch.hpp>

#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"
#include "tests/support/temp_dir.hpp"

using namespace l4sim::testing;

namespace {

std::string find_program(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    auto candidate = std::filesystem::path{dir} / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

/// A server, an lb in front of it with an admin port, and a client process keeping the lb
/// busy with new connections.
struct loaded_lb {
  child_process server{{app_path("server")},
                       {{"SERVER_PORT", "0"},
                        {"SERVER_ID", "server-a"},
                        {"SERVER_HOST", "127.0.0.1"},
                        {"SERVER_STATS_INTERVAL", "0"}}};
  uint16_t server_port = server.number_after("l4sim-ready service=server port=");
  child_process lb{{app_path("lb")},
                   {{"LB_PORT", "0"},
                    {"LB_ID", "lb"},
                    {"LB_HOST", "127.0.0.1"},
                    {"LB_BACKENDS", "server-a=127.0.0.1:" + std::to_string(server_port)},
                    {"LB_STATS_INTERVAL", "0"},
                    {"LB_ADMIN_PORT", "0"}}};
  uint16_t lb_port = lb.number_after("l4sim-ready service=lb port=");
  uint16_t admin = lb.number_after(" admin_port=");
  child_process client{{app_path("client")},
                       {{"CLIENT_TARGET", "127.0.0.1:" + std::to_string(lb_port)},
                        {"CLIENT_RATE", "300"},
                        {"CLIENT_DURATION_SECS", "60"},
                        {"CLIENT_MIX", "real=1"},
                        {"CLIENT_STATS_INTERVAL", "0"}}};

  httplib::Client http() const {
    httplib::Client c{"127.0.0.1", admin};
    c.set_connection_timeout(5);
    c.set_read_timeout(60);
    return c;
  }
};

/// Runs `google-pprof --text binary profile`; returns its exit code and output.
std::pair<int, std::string> pprof_text(const std::string& pprof, const std::string& binary,
                                       const std::string& data) {
  temp_dir dir;
  auto file = dir.path / "profile";
  std::ofstream{file, std::ios::binary} << data;
  child_process run{{pprof, "--text", binary, file.string()}};
  auto rc = run.wait_exit(std::chrono::seconds{60});
  return {rc.value_or(-1), run.output()};
}

}  // namespace

TEST_CASE("lb's /debug/pprof/profile is a CPU profile google-pprof reads", "[admin][pprof]") {
  auto pprof = find_program("google-pprof");
  if (pprof.empty()) {
    WARN("l4sim-skip: google-pprof (Debian package google-perftools) is not installed");
    return;
  }
  loaded_lb on;
  auto http = on.http();
  auto res = http.Get("/debug/pprof/profile?seconds=3");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK_THAT(res->get_header_value("Content-Type"), Catch::Contains("application/octet-stream"));
  auto [rc, text] = pprof_text(pprof, app_path("lb"), res->body);
  INFO(text);
  CHECK(rc == 0);
  CHECK_THAT(text, Catch::Contains("Total: "));
  CHECK_THAT(text, Catch::Contains("caf::") || Catch::Contains("l4sim::"));
}

TEST_CASE("pprof routes refuse a window outside 1..60 seconds", "[admin][pprof]") {
  loaded_lb on;
  auto http = on.http();
  for (auto query : {"seconds=0", "seconds=61", "seconds=ten", "seconds=-1"}) {
    for (auto path : {"/debug/pprof/profile?", "/debug/pprof/heap?"}) {
      INFO(path << query);
      auto res = http.Get(std::string{path} + query);
      REQUIRE(res);
      // Without tcmalloc the heap route says so before it looks at the window.
      if (L4SIM_WITH_TCMALLOC || std::string{path}.find("heap") == std::string::npos) {
        CHECK(res->status == 400);
        CHECK_THAT(res->body, Catch::Contains("1..60"));
      } else {
        CHECK(res->status == 501);
      }
    }
  }
  auto post = http.Post("/debug/pprof/profile", "", "text/plain");
  REQUIRE(post);
  CHECK(post->status == 405);
}

TEST_CASE("lb's /debug/pprof/heap answers a heap profile where tcmalloc is linked",
          "[admin][pprof]") {
  loaded_lb on;
  auto http = on.http();
  auto res = http.Get("/debug/pprof/heap?seconds=1");
  REQUIRE(res);
  if (!L4SIM_WITH_TCMALLOC) {
    CHECK(res->status == 501);
    CHECK_THAT(res->body, Catch::Contains("tcmalloc is not linked"));
    return;
  }
  REQUIRE(res->status == 200);
  CHECK_THAT(res->body, Catch::StartsWith("heap profile:"));
  auto pprof = find_program("google-pprof");
  if (pprof.empty()) {
    WARN("l4sim-skip: google-pprof (Debian package google-perftools) is not installed");
    return;
  }
  auto [rc, text] = pprof_text(pprof, app_path("lb"), res->body);
  INFO(text);
  CHECK(rc == 0);
  CHECK_THAT(text, Catch::Contains("Total: "));
}
