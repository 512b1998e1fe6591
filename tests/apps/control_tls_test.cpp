// Control ports with mutual TLS (CAF's OpenSSL module), the loopback rule for plain ones, and
// what a hostile peer can do to a control port: nothing.

#include <sys/types.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include "actors/backend/backend_server.hpp"
#include "actors/io/system.hpp"
#include "apps/common/control.hpp"
#include "tests/support/actor_system.hpp"
#include "tests/support/process.hpp"
#include "tests/support/socket_client.hpp"

using namespace l4sim;
using namespace l4sim::testing;

namespace {

namespace fs = std::filesystem;

/// Certificates made by scripts/make-control-certs.sh in a temporary folder: `dir` signed
/// by one CA (server, lb, client, sim), `stranger` by another CA (sim).
struct cert_dirs {
  std::string dir;
  std::string stranger;

  cert_dirs() {
    char tmpl[] = "/tmp/l4sim-certs-XXXXXX";
    auto* made = ::mkdtemp(tmpl);
    REQUIRE(made != nullptr);
    auto root = std::string{made};
    dir = root + "/ours";
    stranger = root + "/theirs";
    auto script = std::string{L4SIM_SOURCE_DIR} + "/scripts/make-control-certs.sh";
    auto ours = script + " " + dir + " server lb client sim >/dev/null";
    auto theirs = script + " " + stranger + " sim >/dev/null";
    REQUIRE(std::system(ours.c_str()) == 0);
    REQUIRE(std::system(theirs.c_str()) == 0);
  }

  ~cert_dirs() {
    std::error_code ec;
    fs::remove_all(fs::path{dir}.parent_path(), ec);
  }

  /// The TLS files of `name`, signed by our CA.
  apps::control_tls of(const std::string& name) const {
    return {dir + "/" + name + ".crt", dir + "/" + name + ".key", dir + "/ca.crt"};
  }

  /// The variables that give the service `prefix` the TLS files of `name`.
  std::map<std::string, std::string> env(const std::string& prefix, const std::string& name) const {
    auto tls = of(name);
    return {{prefix + "_CONTROL_CERT", tls.cert},
            {prefix + "_CONTROL_KEY", tls.key},
            {prefix + "_CONTROL_CA", tls.ca}};
  }
};

/// An actor system like sim's: OpenSSL module with `tls` when set.
struct peer_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  explicit peer_system(const apps::control_tls& tls, bool anonymous_tls = false) {
    actors::configure_system(cfg);
    apps::configure_control_tls(cfg, tls);
    if (anonymous_tls) {
      // OpenSSL without a certificate: CAF then offers only anonymous ciphers.
      cfg.load<caf::openssl::manager>();
    }
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

std::unique_ptr<child_process> start_tls_server(const cert_dirs& certs, const std::string& id) {
  auto env = certs.env("SERVER", "server");
  env.insert({{"SERVER_PORT", "0"},
              {"SERVER_ID", id},
              {"SERVER_HOST", "127.0.0.1"},
              {"SERVER_STATS_INTERVAL", "0"},
              {"SERVER_CONTROL_PORT", "0"}});
  return std::make_unique<child_process>(std::vector<std::string>{app_path("server")}, env);
}

/// The resident memory of process `pid` in kB, from /proc/PID/status; 0 if unreadable.
uint64_t rss_kb(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      uint64_t kb = 0;
      in >> kb;
      return kb;
    }
    in.ignore(4096, '\n');
  }
  return 0;
}

bool alive(pid_t pid) {
  return ::kill(pid, 0) == 0;
}

/// A BASP 0.17 client handshake header (32 bytes, big-endian) that claims a payload of
/// 0xffffffff bytes: on a plain BASP port the receiver allocates that much before reading.
std::string hostile_basp_header() {
  std::string h(32, '\0');
  h[0] = '\x01';  // client_handshake
  for (int i = 4; i < 8; ++i) {
    h[static_cast<size_t>(i)] = '\xff';
  }
  return h;
}

}  // namespace

TEST_CASE("a plain control port off loopback refuses to start, naming the variable",
          "[control-tls]") {
  for (auto [app, prefix] : std::vector<std::pair<std::string, std::string>>{
           {"server", "SERVER"}, {"lb", "LB"}, {"client", "CLIENT"}}) {
    INFO(app);
    child_process proc{{app_path(app)},
                       {{"SERVER_PORT", "0"},
                        {"SERVER_ID", "s"},
                        {"LB_PORT", "0"},
                        {"LB_ID", "l"},
                        {"LB_BACKENDS", "127.0.0.1:1"},
                        {"CLIENT_TARGET", "127.0.0.1:1"},
                        {prefix + "_CONTROL_PORT", "0.0.0.0:0"}}};
    CHECK(proc.wait_exit(patience) == 2);
    INFO(proc.output());
    CHECK_THAT(proc.output(), Catch::Contains(prefix + "_CONTROL_PORT") &&
                                  Catch::Contains("--insecure-control") &&
                                  Catch::Contains(prefix + "_CONTROL_CERT"));
  }
}

TEST_CASE("a plain control port listens off loopback with --insecure-control", "[control-tls]") {
  child_process server{{app_path("server"), "--insecure-control"},
                       {{"SERVER_PORT", "0"},
                        {"SERVER_ID", "s"},
                        {"SERVER_HOST", "127.0.0.1"},
                        {"SERVER_STATS_INTERVAL", "0"},
                        {"SERVER_CONTROL_PORT", "0.0.0.0:0"}}};
  auto control = server.number_after("control on 0.0.0.0:");
  CHECK_THAT(server.output(), Catch::Contains("INSECURE"));
  test_system ts;
  CHECK(apps::connect_control<actors::backend_actor>(*ts.sys, {"127.0.0.1", control}));
}

TEST_CASE("TLS files that are partial, missing or mismatched stop a service with exit 2",
          "[control-tls]") {
  cert_dirs certs;
  auto base = std::map<std::string, std::string>{
      {"SERVER_PORT", "0"}, {"SERVER_ID", "s"}, {"SERVER_CONTROL_PORT", "0"}};
  struct bad_case {
    std::string var;
    std::string value;
    std::string says;
  };
  for (auto& c : std::vector<bad_case>{
           {"SERVER_CONTROL_KEY", "", "SERVER_CONTROL_KEY is required"},
           {"SERVER_CONTROL_CA", certs.dir + "/missing.crt", "SERVER_CONTROL_CA: cannot load"},
           {"SERVER_CONTROL_KEY", certs.dir + "/lb.key", "SERVER_CONTROL_KEY: "}}) {
    INFO(c.var << "=" << c.value);
    auto env = base;
    for (auto& [k, v] : certs.env("SERVER", "server")) {
      env[k] = v;
    }
    env[c.var] = c.value;
    child_process proc{{app_path("server")}, env};
    CHECK(proc.wait_exit(patience) == 2);
    CHECK_THAT(proc.output(), Catch::Contains(c.says));
  }
}

TEST_CASE(
    "a peer without a certificate from the control CA gets no control actor and "
    "changes nothing",
    "[control-tls]") {
  cert_dirs certs;
  auto server = start_tls_server(certs, "server-t");
  auto control = server->number_after("control on 127.0.0.1:");
  CHECK_THAT(server->output(), Catch::Contains("(mutual TLS)"));
  protocols::endpoint where{"127.0.0.1", control};
  SECTION("plain BASP") {
    test_system ts;
    auto start = test_clock::now();
    CHECK_FALSE(apps::connect_control<actors::backend_actor>(*ts.sys, where));
    CHECK(test_clock::now() - start < patience);
  }
  SECTION("TLS without a certificate") {
    peer_system anonymous{{}, true};
    auto start = test_clock::now();
    CHECK_FALSE(apps::connect_control<actors::backend_actor>(*anonymous.sys, where));
    CHECK(test_clock::now() - start < patience);
  }
  SECTION("TLS with a certificate from another CA") {
    auto tls = apps::control_tls{certs.stranger + "/sim.crt", certs.stranger + "/sim.key",
                                 certs.stranger + "/ca.crt"};
    peer_system stranger{tls};
    auto start = test_clock::now();
    CHECK_FALSE(apps::connect_control<actors::backend_actor>(*stranger.sys, where));
    CHECK(test_clock::now() - start < patience);
  }
  SECTION("TLS trusting our CA with a certificate from another CA") {
    auto tls = apps::control_tls{certs.stranger + "/sim.crt", certs.stranger + "/sim.key",
                                 certs.dir + "/ca.crt"};
    peer_system stranger{tls};
    CHECK_FALSE(apps::connect_control<actors::backend_actor>(*stranger.sys, where));
  }
  // The refused peers got nothing done; a peer with our CA's certificate gets everything.
  CHECK(alive(server->pid()));
  CHECK_THAT(server->output(), !Catch::Contains("set to") && !Catch::Contains("killed"));
  peer_system sim{certs.of("sim")};
  auto remote = apps::connect_control<actors::backend_actor>(*sim.sys, where);
  REQUIRE(remote);
  caf::scoped_actor self{*sim.sys};
  self->request(*remote, patience, caf::put_atom_v, delay_atom_v,
                protocols::duration_value{std::chrono::milliseconds{400}})
      .receive([] {}, [](const caf::error& err) { FAIL(actors::describe(err)); });
  CHECK(server->wait_for_output("delay set to 400ms", patience));
  self->request(*remote, patience, caf::get_atom_v, stats_atom_v)
      .receive([](const protocols::backend_stats& st) { CHECK(st.id == "server-t"); },
               [](const caf::error& err) { FAIL(actors::describe(err)); });
}

TEST_CASE(
    "a BASP header claiming a 4 GiB payload leaves a control port's process alive with "
    "its memory flat",
    "[control-tls]") {
  cert_dirs certs;
  std::unique_ptr<child_process> server;
  apps::control_tls peer_tls;
  SECTION("mutual TLS: the handshake fails on these bytes, BASP never sees them") {
    server = start_tls_server(certs, "server-h");
    peer_tls = certs.of("sim");
  }
  SECTION("plain on loopback: the connection refuses a read that large") {
    server = std::make_unique<child_process>(
        std::vector<std::string>{app_path("server")},
        std::map<std::string, std::string>{{"SERVER_PORT", "0"},
                                           {"SERVER_ID", "server-h"},
                                           {"SERVER_HOST", "127.0.0.1"},
                                           {"SERVER_STATS_INTERVAL", "0"},
                                           {"SERVER_CONTROL_PORT", "0"}});
  }
  auto control = server->number_after("control on 127.0.0.1:");
  auto pid = server->pid();
  auto before = rss_kb(pid);
  REQUIRE(before > 0);
  // Two at once, as in the report where they grew a plain port's process by about 900 MB.
  std::vector<socket_client> peers;
  for (int i = 0; i < 2; ++i) {
    peers.emplace_back(control);
    REQUIRE(peers.back().connected());
    REQUIRE(peers.back().send(hostile_basp_header()));
  }
  for (auto& p : peers) {
    CHECK(p.wait_closed());
  }
  auto after = rss_kb(pid);
  INFO("VmRSS before " << before << " kB, after " << after << " kB");
  CHECK(alive(pid));
  CHECK(after < before + 50 * 1024);
  // And it still serves a good peer.
  peer_system sim{peer_tls};
  CHECK(apps::connect_control<actors::backend_actor>(*sim.sys, {"127.0.0.1", control}));
}

TEST_CASE("sim run --attach drives services over mutual TLS with its own certificate",
          "[control-tls][sim-services]") {
  cert_dirs certs;
  std::vector<std::unique_ptr<child_process>> servers;
  std::string backends;
  std::string attach;
  for (int i = 1; i <= 3; ++i) {
    auto id = "server-" + std::to_string(i);
    servers.push_back(start_tls_server(certs, id));
    auto control = servers.back()->number_after("control on 127.0.0.1:");
    auto port = servers.back()->number_after("ready on port ");
    backends += (i > 1 ? "," : "") + id + "=127.0.0.1:" + std::to_string(port);
    attach += id + "=127.0.0.1:" + std::to_string(control) + ",";
  }
  auto scenarios = std::string{L4SIM_SOURCE_DIR} + "/scenarios";
  auto lb_env = certs.env("LB", "lb");
  // The lb runs kill-backend's settings at this time scale, as --attach checks.
  child_process settings{{app_path("sim"), "--scenarios", scenarios, "env", "kill-backend", "lb",
                          "--time-scale", "0.2"}};
  REQUIRE(settings.wait_exit(patience) == 0);
  std::istringstream lines{settings.output()};
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    REQUIRE(eq != std::string::npos);
    lb_env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  lb_env.insert({{"LB_PORT", "0"},
                 {"LB_ID", "lb-a"},
                 {"LB_HOST", "127.0.0.1"},
                 {"LB_BACKENDS", backends},
                 {"LB_STATS_INTERVAL", "0"},
                 {"LB_CONTROL_PORT", "0"}});
  child_process lb{{app_path("lb")}, lb_env};
  auto lb_control = lb.number_after("control on 127.0.0.1:");
  auto lb_port = lb.number_after("ready on port ");
  auto client_env = certs.env("CLIENT", "client");
  client_env.insert({{"CLIENT_TARGET", "127.0.0.1:" + std::to_string(lb_port)},
                     {"CLIENT_RATE", "0"},
                     {"CLIENT_STATS_INTERVAL", "0"},
                     {"CLIENT_CONTROL_PORT", "0"}});
  child_process clients{{app_path("client")}, client_env};
  auto clients_control = clients.number_after("control on 127.0.0.1:");
  attach += "lb=127.0.0.1:" + std::to_string(lb_control) +
            ",clients=127.0.0.1:" + std::to_string(clients_control);
  SECTION("without a certificate sim cannot attach") {
    child_process sim{
        {app_path("sim"), "--scenarios", scenarios, "run", "kill-backend", "--attach", attach}};
    auto rc = sim.wait_exit(patience);
    INFO(sim.output());
    CHECK(rc == 1);
    CHECK_THAT(sim.output(), Catch::Contains("cannot reach the control actor of server-1"));
  }
  SECTION("with one from the services' CA it plays the scenario") {
    auto tls = certs.of("sim");
    child_process sim{{app_path("sim"), "--scenarios", scenarios, "run", "kill-backend", "--attach",
                       attach, "--time-scale", "0.2", "--control-cert", tls.cert, "--control-key",
                       tls.key, "--control-ca", tls.ca}};
    auto rc = sim.wait_exit(std::chrono::seconds{120});
    INFO(sim.output());
    CHECK(rc == 0);
    CHECK_THAT(sim.output(), Catch::Contains("verdict: PASS (4/4 expectations met)"));
    CHECK_THAT(servers[0]->output(), Catch::Contains("killed:") && Catch::Contains("restarted:"));
  }
}
