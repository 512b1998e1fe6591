#include "apps/common/admin_routes.hpp"

#include <fmt/format.h>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/clients/arrivals.hpp"
#include "actors/io/system.hpp"
#include "apps/common/admin_pprof.hpp"
#include "apps/common/metrics.hpp"
#include "protocols/backend_list.hpp"
#include "protocols/errors.hpp"
#include "protocols/text_escape.hpp"

namespace l4sim::apps {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

/// How long an HTTP caller waits for an actor's answer.
constexpr auto ask_timeout = 5s;

/// Sends a request to `dest` from a scoped actor of this (HTTP) thread and waits for the
/// answer of type T, at most ask_timeout.
template <class T, class Handle, class... Ts>
caf::expected<T> ask(caf::actor_system& sys, const Handle& dest, Ts&&... xs) {
  caf::scoped_actor self{sys};
  caf::expected<T> result{caf::make_error(caf::sec::request_timeout)};
  self->request(dest, ask_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// Sends a one-way control message, then waits until `dest` answered a stats request sent
/// after it: the mailbox keeps one sender's order, so the change is in force on return.
template <class Stats, class Handle, class... Ts>
caf::expected<Stats> apply(caf::actor_system& sys, const Handle& dest, Ts&&... xs) {
  caf::scoped_actor self{sys};
  self->send(dest, std::forward<Ts>(xs)...);
  caf::expected<Stats> result{caf::make_error(caf::sec::request_timeout)};
  self->request(dest, ask_timeout, caf::get_atom_v, stats_atom_v)
      .receive([&](Stats& x) { result = std::move(x); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// An actor's error as an HTTP answer: 400 for a value it rejected, 503 otherwise.
admin_reply failure(const caf::error& err) {
  bool rejected = err == protocols::l4_errc::bad_config;
  return text_reply(rejected ? 400 : 503, actors::describe(err));
}

/// Returns the body without surrounding whitespace (curl -d keeps what it is given).
std::string trimmed(const std::string& body) {
  auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return {};
  }
  auto last = body.find_last_not_of(" \t\r\n");
  return body.substr(first, last - first + 1);
}

/// Answers 400 naming the route, what it wants and what it got.
admin_reply bad_body(const std::string& path, const std::string& want, const std::string& body) {
  return text_reply(400, fmt::format("{}: want {}, got \"{}\"", path, want,
                                     protocols::escape_control(body.substr(0, 80))));
}

/// Returns the body as a duration (bare number: ms), or nothing.
std::optional<protocols::duration_value> duration_body(const std::string& body) {
  auto d = protocols::parse_duration(trimmed(body), std::chrono::milliseconds{1});
  if (!d) {
    return std::nullopt;
  }
  return protocols::duration_value{*d};
}

json to_json(const protocols::backend_stats& st) {
  return {{"id", st.id},
          {"port", st.port},
          {"listening", st.listening},
          {"active", st.active},
          {"total", st.total},
          {"refused", st.refused},
          {"chaos_dropped", st.chaos_dropped},
          {"idle_closed", st.idle_closed},
          {"requests", st.requests},
          {"pings", st.pings},
          {"stream_lines", st.stream_lines},
          {"slow_lines", st.slow_lines},
          {"errors", st.errors},
          {"bytes_in", st.bytes_in},
          {"bytes_out", st.bytes_out}};
}

json to_json(const protocols::balancer_stats& st) {
  json backends = json::array();
  for (auto& b : st.backends) {
    backends.push_back({{"id", b.id},
                        {"address", b.address},
                        {"healthy", b.healthy},
                        {"weight", b.weight},
                        {"active", b.active},
                        {"pending", b.pending},
                        {"total", b.total},
                        {"failures", b.failures},
                        {"bytes_in", b.bytes_in},
                        {"bytes_out", b.bytes_out},
                        {"queued", b.queued},
                        {"queue_timeouts", b.queue_timeouts},
                        {"retries", b.retries},
                        {"ejections", b.ejections},
                        {"ejected", b.ejected},
                        {"draining", b.draining},
                        {"health_checks",
                         {{"ok", b.checks_ok},
                          {"failed", b.checks_failed},
                          {"timeout", b.checks_timed_out},
                          {"skipped", b.checks_skipped}}}});
  }
  return {{"algorithm", st.algorithm},
          {"accepted", st.accepted},
          {"no_backend", st.no_backend},
          {"backends", backends}};
}

double seconds(caf::timespan d) {
  return std::chrono::duration<double>(d).count();
}

json to_json(const protocols::client_stats& st) {
  json types = json::array();
  for (auto& r : st.rows) {
    json ends = json::object();
    for (std::size_t i = 0; i < protocols::client_end_count; ++i) {
      ends[protocols::to_string(static_cast<protocols::client_end>(i))] = r.ends[i];
    }
    types.push_back({{"type", protocols::to_string(r.kind)},
                     {"started", r.started},
                     {"active", r.active},
                     {"outcomes", ends},
                     {"requests", r.requests},
                     {"p50_seconds", seconds(r.p50)},
                     {"p90_seconds", seconds(r.p90)},
                     {"p99_seconds", seconds(r.p99)},
                     {"max_seconds", seconds(r.max)},
                     {"connect_p50_seconds", seconds(r.connect_p50)},
                     {"bytes_out", r.bytes_out},
                     {"bytes_in", r.bytes_in}});
  }
  return {{"elapsed_seconds", seconds(st.elapsed)}, {"running", st.running}, {"rate", st.rate},
          {"mix", actors::format_mix(st.mix)},      {"capped", st.capped},   {"types", types}};
}

/// Adds GET /metrics and GET /stats, both from one stats request to `dest`.
template <class Stats, class Handle, class AddMetrics>
void add_common_routes(admin_server& admin, caf::actor_system& sys, const Handle& dest,
                       AddMetrics add_metrics) {
  admin.route("GET", "/metrics", [&sys, dest, add_metrics](const std::string&) {
    auto st = ask<Stats>(sys, dest, caf::get_atom_v, stats_atom_v);
    if (!st) {
      return failure(st.error());
    }
    prometheus::Registry registry;
    add_metrics(registry, *st);
    return admin_reply{200, serialize_metrics(registry), metrics_content_type};
  });
  admin.route("GET", "/stats", [&sys, dest](const std::string&) {
    auto st = ask<Stats>(sys, dest, caf::get_atom_v, stats_atom_v);
    return st ? json_reply(to_json(*st).dump(2) + "\n") : failure(st.error());
  });
  add_pprof_routes(admin);
}

}  // namespace

void add_server_routes(admin_server& admin, caf::actor_system& sys,
                       const actors::backend_actor& server) {
  using protocols::backend_stats;
  add_common_routes<backend_stats>(admin, sys, server, add_server_metrics);
  for (auto [path, is_delay] : {std::pair{"/delay", true}, std::pair{"/hang", false}}) {
    admin.route(
        "POST", path,
        [&sys, server, path = std::string{path}, is_delay = is_delay](const std::string& body) {
          auto d = duration_body(body);
          if (!d) {
            return bad_body(path, "a duration such as 500 (ms), 150ms or 2s", body);
          }
          auto done = is_delay
                          ? apply<backend_stats>(sys, server, caf::put_atom_v, delay_atom_v, *d)
                          : apply<backend_stats>(sys, server, caf::put_atom_v, hang_atom_v, *d);
          return done ? text_reply(200, fmt::format("{} {}", path.substr(1),
                                                    protocols::format_duration(d->value)))
                      : failure(done.error());
        });
  }
  admin.route("POST", "/max_conns", [&sys, server](const std::string& body) {
    auto n = protocols::parse_uint(trimmed(body), 1'000'000);
    if (!n) {
      return bad_body("/max_conns", "a whole number 0..1000000 (0 = unlimited)", body);
    }
    auto done = apply<backend_stats>(sys, server, caf::put_atom_v, max_conns_atom_v,
                                     static_cast<uint32_t>(*n));
    return done ? text_reply(200, fmt::format("max_conns {}", *n)) : failure(done.error());
  });
  admin.route("POST", "/chaos", [&sys, server](const std::string& body) {
    auto n = protocols::parse_uint(trimmed(body), 100);
    if (!n) {
      return bad_body("/chaos", "a percentage 0..100", body);
    }
    auto done =
        apply<backend_stats>(sys, server, caf::put_atom_v, chaos_atom_v, static_cast<uint32_t>(*n));
    return done ? text_reply(200, fmt::format("chaos {}%", *n)) : failure(done.error());
  });
}

void add_lb_routes(admin_server& admin, caf::actor_system& sys,
                   const actors::balancer_control_actor& lb) {
  using protocols::balancer_stats;
  add_common_routes<balancer_stats>(admin, sys, lb, add_balancer_metrics);
  admin.route("POST", "/algorithm", [&sys, lb](const std::string& body) {
    auto name = trimmed(body);
    if (name.empty()) {
      return bad_body("/algorithm", "an algorithm name such as rr, lc or rand", body);
    }
    auto now = ask<std::string>(sys, lb, caf::put_atom_v, algo_atom_v, name);
    return now ? text_reply(200, "algorithm " + *now) : failure(now.error());
  });
  admin.route("POST", "/backends/add", [&sys, lb](const std::string& body) {
    std::string why;
    auto entries = protocols::parse_backend_list(trimmed(body), why);
    if (!entries || entries->size() != 1) {
      return bad_body("/backends/add",
                      "one [name=]host:port[ weight=N]" + (why.empty() ? "" : " (" + why + ")"),
                      body);
    }
    auto& e = entries->front();
    protocols::backend_spec spec{
        e.name, protocols::to_string(e.where), "", e.where.port, e.weight, e.where.host};
    auto done = apply<balancer_stats>(sys, lb, caf::add_atom_v, spec);
    return done ? text_reply(200, "added " + protocols::escape_control(e.name))
                : failure(done.error());
  });
  admin.route("POST", "/backends/remove", [&sys, lb](const std::string& body) {
    auto name = trimmed(body);
    auto st = ask<balancer_stats>(sys, lb, caf::get_atom_v, stats_atom_v);
    if (!st) {
      return failure(st.error());
    }
    bool known = std::any_of(st->backends.begin(), st->backends.end(),
                             [&](const protocols::backend_row& b) { return b.id == name; });
    if (!known) {
      return bad_body("/backends/remove", "the name of a backend", body);
    }
    auto done = apply<balancer_stats>(sys, lb, caf::delete_atom_v, name);
    return done ? text_reply(200, "removed " + protocols::escape_control(name))
                : failure(done.error());
  });
}

void add_client_routes(admin_server& admin, caf::actor_system& sys,
                       const actors::spawner_actor& clients) {
  using protocols::client_stats;
  add_common_routes<client_stats>(admin, sys, clients, add_client_metrics);
  admin.route("POST", "/rate", [&sys, clients](const std::string& body) {
    auto rate = protocols::parse_decimal(trimmed(body));
    // The same bound as CLIENT_RATE's: a rate past it would flood the spawner's timers.
    if (!rate || *rate > 1e6) {
      return bad_body("/rate", "clients per second, a number such as 20 or 0.5, at most 1e6", body);
    }
    auto done = apply<client_stats>(sys, clients, caf::put_atom_v, rate_atom_v, *rate);
    return done ? text_reply(200, fmt::format("rate {}/s", done->rate)) : failure(done.error());
  });
  admin.route("POST", "/mix", [&sys, clients](const std::string& body) {
    auto mix = actors::parse_mix(trimmed(body));
    if (!mix) {
      return bad_body("/mix", "weights such as real=50,stream=10,idle=5", body);
    }
    auto done = apply<client_stats>(sys, clients, caf::put_atom_v, mix_atom_v, *mix);
    return done ? text_reply(200, "mix " + actors::format_mix(done->mix)) : failure(done.error());
  });
}

void add_stage_routes(admin_server& admin, caf::actor_system& sys, const actors::stage& on) {
  admin.route(
      "GET", "/metrics",
      [&sys, backends = on.backends, lb = on.lb, clients = on.clients](const std::string&) {
        prometheus::Registry registry;
        if (auto st = ask<protocols::balancer_stats>(sys, lb, caf::get_atom_v, stats_atom_v)) {
          add_balancer_metrics(registry, *st);
        }
        for (auto& [id, backend] : backends) {
          if (auto st =
                  ask<protocols::backend_stats>(sys, backend, caf::get_atom_v, stats_atom_v)) {
            add_server_metrics(registry, *st);
          }
        }
        if (auto st = ask<protocols::client_stats>(sys, clients, caf::get_atom_v, stats_atom_v)) {
          add_client_metrics(registry, *st);
        }
        return admin_reply{200, serialize_metrics(registry), metrics_content_type};
      });
  add_pprof_routes(admin);
}

}  // namespace l4sim::apps
