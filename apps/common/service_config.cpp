#include "apps/common/service_config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "actors/balancer/balancing.hpp"
#include "actors/clients/arrivals.hpp"
#include "actors/director/run_plan.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "apps/common/admin.hpp"
#include "apps/common/control.hpp"
#include "protocols/proxy_protocol.hpp"
#include "protocols/text_escape.hpp"

namespace l4sim::apps {

using namespace std::chrono_literals;

namespace {

/// Reads `base,cap` durations (a bare number counts in ms); cap at least base.
actors::retry_backoff read_backoff(const env_cli& cli, const std::string& env) {
  auto text = cli.text(env);
  auto comma = text.find(',');
  auto base = protocols::parse_duration(text.substr(0, comma), 1ms);
  auto cap = comma == std::string::npos
                 ? std::optional<protocols::duration>{}
                 : protocols::parse_duration(std::string_view{text}.substr(comma + 1), 1ms);
  if (!base || !cap) {
    cli.fail(env, fmt::format("\"{}\" is not base,cap (two durations, e.g. 50ms,1s)", text));
  }
  if (*cap < *base) {
    cli.fail(env, fmt::format("\"{}\": the cap is below the base", text));
  }
  return {*base, *cap};
}

/// A listen address that does not resolve is the variable's fault: say which.
void check_host(const env_cli& cli, const std::string& env) {
  if (auto address = actors::resolve_host(cli.text(env)); !address) {
    cli.fail(env, actors::describe(address.error()));
  }
}

}  // namespace

void declare_server_options(env_cli& cli) {
  cli.option("--port", "SERVER_PORT", "port to listen on (0 picks one)", "", true);
  cli.option("--id", "SERVER_ID", "name used in logs and stats", "", true);
  cli.option("--host", "SERVER_HOST", "address to listen on", "0.0.0.0");
  cli.option("--delay-ms", "SERVER_DELAY_MS", "delay before each reply, ms", "0");
  cli.option("--max-conns", "SERVER_MAX_CONNS", "concurrent connections, 0 = unlimited", "0");
  cli.option("--timeout-secs", "SERVER_TIMEOUT_SECS", "idle timeout, s, 0 = none", "0");
  cli.option("--chaos-pct", "SERVER_CHAOS_PCT", "share of connections dropped at accept", "0");
  cli.option("--hang-ms", "SERVER_HANG_MS", "hold on each connection's first reply, ms", "0");
  cli.option("--seed", "SERVER_SEED", "seed of the chaos draws", "1");
  cli.flag("--accept-proxy", "SERVER_ACCEPT_PROXY",
           "read a PROXY protocol header (v1 or v2) first on every connection; logs and "
           "stats show the client it names");
  cli.option("--stats-interval", "SERVER_STATS_INTERVAL", "stats log period, s, 0 = off", "5");
  add_control_options(cli, "SERVER");
  add_admin_option(cli, "SERVER");
}

actors::backend_config read_server_config(const env_cli& cli) {
  actors::backend_config cfg;
  cfg.port = cli.port("SERVER_PORT", true);
  cfg.id = cli.text("SERVER_ID");
  cfg.host = cli.text("SERVER_HOST");
  check_host(cli, "SERVER_HOST");
  cfg.delay = cli.duration("SERVER_DELAY_MS", 1ms);
  cfg.max_conns = static_cast<uint32_t>(cli.number("SERVER_MAX_CONNS", 1'000'000));
  cfg.idle_timeout = cli.duration("SERVER_TIMEOUT_SECS", 1s);
  cfg.chaos_pct = static_cast<uint32_t>(cli.number("SERVER_CHAOS_PCT", 100));
  cfg.hang = cli.duration("SERVER_HANG_MS", 1ms);
  cfg.seed = cli.number("SERVER_SEED", UINT64_MAX);
  cfg.stats_interval = cli.duration("SERVER_STATS_INTERVAL", 1s);
  cfg.accept_proxy = cli.enabled("SERVER_ACCEPT_PROXY");
  return cfg;
}

void declare_lb_options(env_cli& cli) {
  cli.option("--port", "LB_PORT", "port to listen on (0 picks one)", "", true);
  cli.option("--id", "LB_ID", "name used in logs", "", true);
  cli.option("--backends", "LB_BACKENDS",
             "comma-separated [name=]host:port[ weight=N][ maxconn=N] list (unnamed: named by "
             "host while unique, else host:port)",
             "", true);
  cli.option("--host", "LB_HOST", "address to listen on", "0.0.0.0");
  cli.option("--algo", "LB_ALGO",
             "balancing algorithm: rr (smooth weighted), lc, rand, p2c, hash (client address, "
             "bounded load) or maglev",
             "rr");
  cli.option("--health-interval", "LB_HEALTH_INTERVAL",
             "probe period, s (0.2 allowed; 0 = no checks)", "3");
  cli.option("--health-timeout", "LB_HEALTH_TIMEOUT", "probe connect timeout, s", "1");
  cli.option("--health-rise", "LB_HEALTH_RISE", "good probes in a row to come UP", "1");
  cli.option("--health-fall", "LB_HEALTH_FALL", "failed probes in a row to go DOWN", "1");
  cli.option("--connect-timeout-ms", "LB_CONNECT_TIMEOUT_MS", "backend connect timeout, ms",
             "1000");
  cli.option("--retries", "LB_RETRIES", "other backends to try after a failed connect", "2");
  cli.option("--retry-backoff", "LB_RETRY_BACKOFF",
             "base,cap of the exponential backoff with jitter before each retry, ms unless a "
             "unit is given (0,0 = retry at once)",
             "25ms,250ms");
  cli.option("--queue-timeout", "LB_QUEUE_TIMEOUT",
             "how long a client waits for a slot when every backend is at its maxconn, s "
             "(0 = no queue: closed at once)",
             "5");
  cli.option("--drain-timeout", "LB_DRAIN_TIMEOUT",
             "a removed backend's open connections are closed after this long, s", "30");
  cli.option("--slow-start", "LB_SLOW_START",
             "a backend that comes UP ramps its weight over this window, s (0 = off)", "0");
  cli.option("--outlier-consecutive", "LB_OUTLIER_CONSECUTIVE",
             "connect failures in a row that eject a backend (0 = no outlier ejection)", "0");
  cli.option("--outlier-base-ejection", "LB_OUTLIER_BASE_EJECTION",
             "an ejection lasts this times the backend's ejection count, s", "30");
  cli.option("--outlier-max-percent", "LB_OUTLIER_MAX_PERCENT",
             "share of backends ejected at once at most, % (at least one may be)", "10");
  cli.option("--client-timeout", "LB_CLIENT_TIMEOUT",
             "close a session whose client is idle this long, s (0 = never)", "30");
  cli.option("--server-timeout", "LB_SERVER_TIMEOUT",
             "close a session whose backend is idle this long, s (0 = never)", "30");
  cli.option("--tunnel-timeout", "LB_TUNNEL_TIMEOUT",
             "idle timeout once both sides sent data, replaces the two above, s (0 = off)", "3600");
  cli.option("--client-fin-timeout", "LB_CLIENT_FIN_TIMEOUT",
             "idle timeout after one side half-closed, s (0 = off)", "30");
  cli.option("--max-conns", "LB_MAX_CONNS",
             "proxied connections at most; past it new ones wait in the backlog (0 = no cap)",
             "4000");
  cli.option("--stats-interval", "LB_STATS_INTERVAL", "stats table period, s, 0 = off", "5");
  cli.option("--hash-balance", "LB_HASH_BALANCE",
             "hash algorithm's load bound: a backend takes a key while under this % of its "
             "weighted share of connections, else the key's next backend (0 = off, else "
             "100..1000)",
             "125");
  cli.option("--send-proxy", "LB_SEND_PROXY",
             "write a PROXY protocol header to each backend before any client byte: none, v1 "
             "or v2",
             "none");
  cli.option("--seed", "LB_SEED", "seed of the rand and p2c algorithms", "1");
  cli.option("--resolve-interval", "LB_RESOLVE_INTERVAL",
             "re-resolve backend names this often, s (and at every probe while one fails; "
             "0 = only while failing)",
             "30");
  cli.option("--access-log", "LB_ACCESS_LOG",
             "one line per proxied connection when it ends (like HAProxy's tcplog): stdout, "
             "a file to append to, or off",
             "off");
  cli.option("--loops", "LB_LOOPS",
             "I/O loops (threads) that accept and relay connections, each with its own "
             "listener on the port (SO_REUSEPORT); 0 = one per core",
             "0");
  cli.option("--pump", "LB_PUMP",
             "byte pump of each proxied connection: broker (CAF scribes, 4 fds), direct "
             "(own event handlers on the I/O loop, 2 fds, write-through) or splice (direct, "
             "bytes moved by splice(2) through a pipe)",
             actors::to_string(actors::pump_config{}.kind));
  cli.option("--scheduler", "LB_SCHEDULER",
             "CAF scheduler policy of the lb's actor systems: sharing (workers sleep until "
             "a job comes) or stealing (CAF's default: workers poll and sleep 50 us at a "
             "time after each job)",
             std::string{actors::to_string(actors::balancer_config{}.scheduler)});
  add_control_options(cli, "LB");
  add_admin_option(cli, "LB");
}

namespace {

/// Reads an access log target: "" for off, "stdout", or a file that can be appended to
/// (created if missing, checked now so that a typo is a config error, not a silent loss).
std::string read_access_log(const env_cli& cli, const std::string& var) {
  auto target = cli.text(var);
  if (target == "off") {
    return {};
  }
  if (target.empty()) {
    cli.fail(var, "want stdout, off or the path of a file");
  }
  if (target != "stdout") {
    std::FILE* file = std::fopen(target.c_str(), "ae");
    if (file == nullptr) {
      cli.fail(var, fmt::format("cannot append to \"{}\": {}", protocols::escape_control(target),
                                std::strerror(errno)));
    }
    std::fclose(file);
  }
  return target;
}

}  // namespace

actors::balancer_config read_lb_config(const env_cli& cli) {
  actors::balancer_config cfg;
  cfg.port = cli.port("LB_PORT", true);
  cfg.id = cli.text("LB_ID");
  cfg.host = cli.text("LB_HOST");
  check_host(cli, "LB_HOST");
  cfg.algorithm = cli.text("LB_ALGO");
  if (!actors::make_policy(cfg.algorithm, 1)) {
    cli.fail("LB_ALGO",
             fmt::format("\"{}\" is not one of {}", cfg.algorithm, actors::policy_names()));
  }
  cfg.health.interval = cli.duration("LB_HEALTH_INTERVAL", 1s);
  cfg.health.timeout = cli.duration("LB_HEALTH_TIMEOUT", 1s);
  if (cfg.health.timeout.count() == 0) {
    cli.fail("LB_HEALTH_TIMEOUT", "must be above 0 (a probe needs time to connect)");
  }
  cfg.health.rise = static_cast<uint32_t>(cli.number("LB_HEALTH_RISE", 100));
  cfg.health.fall = static_cast<uint32_t>(cli.number("LB_HEALTH_FALL", 100));
  cfg.health.resolve_interval = cli.duration("LB_RESOLVE_INTERVAL", 1s);
  cfg.session.connect_timeout = cli.duration("LB_CONNECT_TIMEOUT_MS", 1ms);
  if (cfg.session.connect_timeout.count() == 0) {
    cli.fail("LB_CONNECT_TIMEOUT_MS", "must be above 0 (a connect needs time)");
  }
  cfg.session.retries = static_cast<uint32_t>(cli.number("LB_RETRIES", 100));
  cfg.session.backoff = read_backoff(cli, "LB_RETRY_BACKOFF");
  cfg.queue_timeout = cli.duration("LB_QUEUE_TIMEOUT", 1s);
  cfg.drain_timeout = cli.duration("LB_DRAIN_TIMEOUT", 1s);
  cfg.slow_start = cli.duration("LB_SLOW_START", 1s);
  cfg.outlier.consecutive = static_cast<uint32_t>(cli.number("LB_OUTLIER_CONSECUTIVE", 1000));
  cfg.outlier.base_ejection = cli.duration("LB_OUTLIER_BASE_EJECTION", 1s);
  if (cfg.outlier.base_ejection.count() == 0) {
    cli.fail("LB_OUTLIER_BASE_EJECTION", "must be above 0");
  }
  cfg.outlier.max_percent = static_cast<uint32_t>(cli.number("LB_OUTLIER_MAX_PERCENT", 100));
  cfg.session.timeouts.client = cli.duration("LB_CLIENT_TIMEOUT", 1s);
  cfg.session.timeouts.server = cli.duration("LB_SERVER_TIMEOUT", 1s);
  cfg.session.timeouts.tunnel = cli.duration("LB_TUNNEL_TIMEOUT", 1s);
  cfg.session.timeouts.client_fin = cli.duration("LB_CLIENT_FIN_TIMEOUT", 1s);
  cfg.max_conns = static_cast<uint32_t>(cli.number("LB_MAX_CONNS", 1'000'000));
  cfg.stats_interval = cli.duration("LB_STATS_INTERVAL", 1s);
  cfg.seed = cli.number("LB_SEED", UINT64_MAX);
  cfg.loops = static_cast<uint32_t>(cli.number("LB_LOOPS", 64));
  if (cfg.loops == 0) {
    cfg.loops = std::max(1u, std::thread::hardware_concurrency());
  }
  auto send_proxy = protocols::parse_proxy_version(cli.text("LB_SEND_PROXY"));
  if (!send_proxy) {
    cli.fail("LB_SEND_PROXY",
             fmt::format("\"{}\" is not none, v1 or v2", cli.text("LB_SEND_PROXY")));
  }
  cfg.session.send_proxy = *send_proxy;
  auto pump = actors::parse_pump_kind(cli.text("LB_PUMP"));
  if (!pump) {
    cli.fail("LB_PUMP", fmt::format("\"{}\" is not broker, direct or splice", cli.text("LB_PUMP")));
  }
  cfg.session.pump.kind = *pump;
  auto scheduler = actors::parse_scheduler_kind(cli.text("LB_SCHEDULER"));
  if (!scheduler) {
    cli.fail("LB_SCHEDULER",
             fmt::format("\"{}\" is not sharing or stealing", cli.text("LB_SCHEDULER")));
  }
  cfg.scheduler = *scheduler;
  cfg.hash_balance = static_cast<uint32_t>(cli.number("LB_HASH_BALANCE", 1000));
  if (cfg.hash_balance != 0 && cfg.hash_balance < 100) {
    cli.fail("LB_HASH_BALANCE", "must be 0 (off) or 100..1000");
  }
  cfg.access_log = read_access_log(cli, "LB_ACCESS_LOG");
  for (auto& entry : cli.backends("LB_BACKENDS")) {
    // A name that does not resolve yet is a DOWN backend the health monitor keeps
    // resolving (an orchestrator may start lb before its backends), not a fatal error.
    auto address = actors::resolve_host(entry.where.host);
    if (!address) {
      actors::log_line(fmt::format("[{}] backend {}: {}; DOWN until it resolves", cfg.id,
                                   entry.name, actors::describe(address.error())));
    }
    cfg.backends.push_back({entry.name, protocols::to_string(entry.where),
                            address ? *address : std::string{}, entry.where.port, entry.weight,
                            entry.where.host, entry.max_conns});
  }
  return cfg;
}

void declare_client_options(env_cli& cli) {
  cli.option("--target", "CLIENT_TARGET", "host:port to connect to", "", true);
  cli.option("--rate", "CLIENT_RATE", "new clients per second (fractional allowed)", "2");
  cli.option("--mix", "CLIENT_MIX", "weights per kind, e.g. real=50,stream=15",
             "real=50,fire_and_forget=20,stream=15,idle=10,slow=5");
  cli.option("--arrival", "CLIENT_ARRIVAL", "arrival process: uniform or poisson", "uniform");
  cli.option("--seed", "CLIENT_SEED", "seed of the kinds and their parameters", "1");
  cli.option("--duration-secs", "CLIENT_DURATION_SECS", "run length, s, 0 = until stopped", "0");
  cli.option("--max-active", "CLIENT_MAX_ACTIVE", "open clients at most, 0 = unlimited", "0");
  cli.option("--source-addresses", "CLIENT_SOURCE_ADDRESSES",
             "N > 0: client k connects from 127.0.1.(1 + k mod N), N distinct client addresses "
             "toward a loopback target (at most 254; 0 = the system's choice)",
             "0");
  cli.option("--connect-timeout-ms", "CLIENT_CONNECT_TIMEOUT_MS", "connect timeout, ms", "3000");
  cli.option("--stats-interval", "CLIENT_STATS_INTERVAL", "summary line period, s, 0 = off", "5");
  cli.option("--params", "CLIENT_PARAMS",
             "per-kind parameters, e.g. real.think_min=100ms,stream.interval=1s (keys: "
             "requests_min/max, think_min/max, interval, byte_gap_min/max, reply_timeout)");
  add_control_options(cli, "CLIENT");
  add_admin_option(cli, "CLIENT");
}

namespace {

/// The most clients per second a spawner is asked for; far above what one process holds.
constexpr double max_client_rate = 1e6;

void read_client_params(const env_cli& cli, actors::spawner_config& cfg) {
  auto text = cli.text("CLIENT_PARAMS");
  size_t at = 0;
  while (at < text.size()) {
    auto comma = text.find(',', at);
    auto item = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    at = comma == std::string::npos ? text.size() : comma + 1;
    if (item.empty()) {
      continue;
    }
    auto dot = item.find('.');
    auto eq = item.find('=');
    if (dot == std::string::npos || eq == std::string::npos || eq < dot) {
      cli.fail("CLIENT_PARAMS", fmt::format("\"{}\" is not kind.key=value", item));
    }
    auto kind = protocols::parse_client_kind(item.substr(0, dot));
    if (!kind) {
      cli.fail("CLIENT_PARAMS",
               fmt::format("\"{}\": unknown kind \"{}\"", item, item.substr(0, dot)));
    }
    auto& profile = cfg.profiles[static_cast<size_t>(*kind)];
    auto err = actors::apply_client_param(profile, item.substr(dot + 1, eq - dot - 1),
                                          item.substr(eq + 1), protocols::time_scale{1});
    if (!err.empty()) {
      cli.fail("CLIENT_PARAMS", fmt::format("\"{}\": {}", item, err));
    }
  }
}

}  // namespace

actors::spawner_config read_client_config(const env_cli& cli) {
  actors::spawner_config cfg;
  auto target = protocols::parse_endpoint(cli.text("CLIENT_TARGET"));
  if (!target) {
    cli.fail("CLIENT_TARGET", fmt::format("\"{}\" is not host:port", cli.text("CLIENT_TARGET")));
  }
  auto address = actors::resolve_host(target->host);
  if (!address) {
    cli.fail("CLIENT_TARGET", fmt::format("cannot resolve \"{}\": {}", target->host,
                                          actors::describe(address.error())));
  }
  cfg.address = *address;
  cfg.port = target->port;
  cfg.rate = cli.decimal("CLIENT_RATE");
  if (cfg.rate > max_client_rate) {
    cli.fail("CLIENT_RATE", fmt::format("{} is above {:g} clients per second",
                                        cli.text("CLIENT_RATE"), max_client_rate));
  }
  auto mix = actors::parse_mix(cli.text("CLIENT_MIX"));
  if (!mix) {
    cli.fail("CLIENT_MIX", fmt::format("\"{}\" is not a mix like real=50,stream=15 (kinds: real, "
                                       "fire_and_forget, stream, idle, slow; total above 0)",
                                       cli.text("CLIENT_MIX")));
  }
  cfg.mix = *mix;
  auto arrival = actors::parse_arrival_process(cli.text("CLIENT_ARRIVAL"));
  if (!arrival) {
    cli.fail("CLIENT_ARRIVAL",
             fmt::format("\"{}\" is neither uniform nor poisson", cli.text("CLIENT_ARRIVAL")));
  }
  cfg.arrival = *arrival;
  cfg.seed = cli.number("CLIENT_SEED", UINT64_MAX);
  cfg.duration = cli.duration("CLIENT_DURATION_SECS", 1s);
  cfg.max_active = static_cast<uint32_t>(cli.number("CLIENT_MAX_ACTIVE", 10'000'000));
  cfg.source_addresses =
      static_cast<uint32_t>(cli.number("CLIENT_SOURCE_ADDRESSES", actors::max_source_addresses));
  cfg.connect_timeout = cli.duration("CLIENT_CONNECT_TIMEOUT_MS", 1ms);
  if (cfg.connect_timeout.count() == 0) {
    cli.fail("CLIENT_CONNECT_TIMEOUT_MS", "must be above 0");
  }
  cfg.stats_interval = cli.duration("CLIENT_STATS_INTERVAL", 1s);
  read_client_params(cli, cfg);
  return cfg;
}

}  // namespace l4sim::apps
