#include "apps/sim/stages.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/clients/arrivals.hpp"
#include "actors/io/system.hpp"
#include "apps/common/control.hpp"
#include "apps/common/service_env.hpp"
#include "apps/sim/service_set.hpp"
#include "protocols/errors.hpp"

namespace l4sim::apps {

namespace {

using protocols::l4_errc;
namespace fs = std::filesystem;

caf::error fail(std::string text) {
  return caf::make_error(l4_errc::bad_config, std::move(text));
}

/// Pushes a planned backend's settings to its control actor.
void configure_backend(const actors::backend_actor& b, const actors::backend_config& cfg) {
  using protocols::duration_value;
  caf::anon_send(b, caf::put_atom_v, delay_atom_v, duration_value{cfg.delay});
  caf::anon_send(b, caf::put_atom_v, hang_atom_v, duration_value{cfg.hang});
  caf::anon_send(b, caf::put_atom_v, caf::timeout_atom_v, duration_value{cfg.idle_timeout});
  caf::anon_send(b, caf::put_atom_v, max_conns_atom_v, cfg.max_conns);
  caf::anon_send(b, caf::put_atom_v, chaos_atom_v, cfg.chaos_pct);
  caf::anon_send(b, caf::put_atom_v, proxy_atom_v, cfg.accept_proxy);
}

/// The timeline events a stage cannot play, by kind.
std::string reject_events(const actors::run_plan& plan, const std::string& mode) {
  for (auto& ev : plan.scn.timeline) {
    if (ev.kind == protocols::event_kind::add_backend) {
      return fmt::format(
          "{}: {}:{}: add_backend starts a new backend, which {} cannot do (it drives "
          "services started elsewhere); play this scenario in-process or with --services",
          mode, plan.scn.file, ev.where.line, mode);
    }
  }
  return {};
}

template <class Handle>
caf::expected<Handle> connect(caf::actor_system& sys, const std::string& what,
                              const protocols::endpoint& ep) {
  auto h = connect_control<Handle>(sys, ep);  // mutual TLS when sim was given certificates
  if (!h) {
    return fail(fmt::format("cannot reach the control actor of {} at {}: {}", what,
                            protocols::to_string(ep), actors::describe(h.error())));
  }
  return *h;
}

/// Answers `request` from `to`, or the error (a timeout included).
template <class Result, class Handle, class... Ts>
caf::expected<Result> ask(caf::actor_system& sys, const Handle& to, Ts... xs) {
  caf::scoped_actor self{sys};
  caf::expected<Result> result{caf::error{}};
  self->request(to, std::chrono::seconds{10}, xs...)
      .receive([&](Result& value) { result = std::move(value); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

/// Returns what an attached lb does differently from the plan's balancer, each named by the
/// lb's variable: its settings, and its backends and their maxconn (weights are pushed).
caf::expected<std::vector<std::string>> lb_mismatches(caf::actor_system& sys,
                                                      const actors::balancer_control_actor& lb,
                                                      const actors::run_plan& plan) {
  auto settings = ask<protocols::balancer_settings>(sys, lb, caf::get_atom_v, settings_atom_v);
  if (!settings) {
    return fail("cannot read the lb's settings: " + actors::describe(settings.error()));
  }
  auto stats = ask<protocols::balancer_stats>(sys, lb, caf::get_atom_v, stats_atom_v);
  if (!stats) {
    return fail("cannot read the lb's backends: " + actors::describe(stats.error()));
  }
  std::vector<std::string> result;
  auto want = lb_settings_env(actors::settings_of(plan.balancer));
  auto have = lb_settings_env(*settings);
  for (auto& [name, value] : want) {
    if (have[name] != value) {
      result.push_back(fmt::format("{}={} (needs {})", name, have[name], value));
    }
  }
  std::map<std::string, const protocols::backend_row*> rows;
  for (auto& row : stats->backends) {
    rows[row.id] = &row;
  }
  for (auto& planned : plan.backends) {
    auto i = rows.find(planned.id);
    if (i == rows.end()) {
      result.push_back(fmt::format("LB_BACKENDS has no {}", planned.id));
    } else if (i->second->max_conns != planned.lb_max_conns) {
      result.push_back(fmt::format("LB_BACKENDS gives {} maxconn={} (needs {})", planned.id,
                                   i->second->max_conns, planned.lb_max_conns));
    }
    rows.erase(planned.id);
  }
  for (auto& [id, row] : rows) {
    result.push_back(fmt::format("LB_BACKENDS has {}, which {} does not", id, plan.scn.name));
  }
  return result;
}

}  // namespace

caf::expected<std::map<std::string, protocols::endpoint>> parse_attach(const std::string& text) {
  std::string bad;
  auto entries = protocols::parse_endpoint_list(text, bad);
  std::map<std::string, protocols::endpoint> result;
  for (auto& entry : entries ? *entries : std::vector<protocols::named_endpoint>{}) {
    if (entry.name.empty()) {
      bad = protocols::to_string(entry.where);
      break;
    }
    result[entry.name] = entry.where;
  }
  if (!bad.empty()) {
    return fail(fmt::format("--attach: \"{}\" is not NAME=HOST:PORT", bad));
  }
  return result;
}

std::string attach_rejects(const actors::run_plan& plan) {
  return reject_events(plan, "--attach");
}

std::string services_reject(const actors::run_plan&) {
  return {};  // every event: add_backend starts a new server process
}

caf::expected<actors::stage> attach_stage(caf::actor_system& sys, const actors::run_plan& plan,
                                          const std::map<std::string, protocols::endpoint>& where) {
  if (auto why = attach_rejects(plan); !why.empty()) {
    return fail(why);
  }
  for (auto& key : std::vector<std::string>{"lb", "clients"}) {
    if (!where.count(key)) {
      return fail(fmt::format("--attach needs {}=HOST:PORT", key));
    }
  }
  actors::stage result;
  std::string summary = "attached:";
  for (auto& planned : plan.backends) {
    auto i = where.find(planned.id);
    if (i == where.end()) {
      return fail(
          fmt::format("--attach needs {}=HOST:PORT (a backend of {})", planned.id, plan.scn.name));
    }
    auto b = connect<actors::backend_actor>(sys, planned.id, i->second);
    if (!b) {
      return b.error();
    }
    configure_backend(*b, planned.cfg);
    result.backends.emplace_back(planned.id, *b);
    summary += fmt::format(" {}@{}", planned.id, protocols::to_string(i->second));
  }
  auto lb = connect<actors::balancer_control_actor>(sys, "lb", where.at("lb"));
  if (!lb) {
    return lb.error();
  }
  // What the lb can change at run time is pushed; what it keeps from its start must match.
  auto mismatches = lb_mismatches(sys, *lb, plan);
  if (!mismatches) {
    return mismatches.error();
  }
  if (!mismatches->empty()) {
    std::string list;
    for (auto& m : *mismatches) {
      list += (list.empty() ? "" : ", ") + m;
    }
    auto scaled = plan.scale.factor() == 1 ? std::string{}
                                           : fmt::format(" --time-scale {}", plan.scale.factor());
    return caf::make_error(
        l4_errc::bad_scenario,
        fmt::format("--attach: the lb at {} does not run as {} needs: {}; start it with the "
                    "variables `sim env {} lb{}` prints",
                    protocols::to_string(where.at("lb")), plan.scn.name, list, plan.scn.name,
                    scaled));
  }
  for (auto& planned : plan.backends) {
    auto set = ask<std::string>(sys, *lb, weight_atom_v, planned.id, planned.weight);
    if (!set) {
      return fail(fmt::format("cannot set {}'s weight on the lb: {}", planned.id,
                              actors::describe(set.error())));
    }
  }
  caf::anon_send(*lb, caf::put_atom_v, algo_atom_v, plan.balancer.algorithm);
  auto clients = connect<actors::spawner_actor>(sys, "clients", where.at("clients"));
  if (!clients) {
    return clients.error();
  }
  caf::anon_send(*clients, caf::put_atom_v, rate_atom_v, plan.clients.rate);
  caf::anon_send(*clients, caf::put_atom_v, mix_atom_v, plan.clients.mix);
  result.lb = *lb;
  result.clients = *clients;
  result.summary = summary + fmt::format(
                                 " lb@{} clients@{} (lb settings checked, weights set; "
                                 "client parameters are the client service's own)",
                                 protocols::to_string(where.at("lb")),
                                 protocols::to_string(where.at("clients")));
  return result;
}

std::vector<std::pair<std::string, int>> service_pids(const service_set& services) {
  return services.started();
}

namespace {

/// The path of a service binary next to `sim`: build/apps/NAME/NAME or, installed, NAME in
/// the same folder.
std::string binary_path(const std::string& name) {
  auto self = fs::read_symlink("/proc/self/exe").parent_path();
  for (auto candidate : {self / ".." / name / name, self / name}) {
    if (fs::exists(candidate)) {
      return fs::canonical(candidate).string();
    }
  }
  return name;
}

uint16_t number_after(const std::string& text, const std::string& marker) {
  auto at = text.find(marker);
  if (at == std::string::npos) {
    return 0;
  }
  auto n = protocols::parse_uint(
      std::string_view{text}.substr(
          at + marker.size(),
          text.find_first_not_of("0123456789", at + marker.size()) - (at + marker.size())),
      65535);
  return n ? static_cast<uint16_t>(*n) : 0;
}

}  // namespace

caf::expected<actors::stage> services_stage(caf::actor_system& sys, const actors::run_plan& plan,
                                            std::shared_ptr<service_set>& services) {
  if (auto why = services_reject(plan); !why.empty()) {
    return fail(why);
  }
  services = std::make_shared<service_set>();
  auto procs = services;
  actors::stage result;
  std::vector<uint16_t> ports;
  auto start_backend =
      [&sys, procs](const actors::planned_backend& planned,
                    uint16_t port) -> caf::expected<std::pair<actors::backend_actor, uint16_t>> {
    auto log = procs->start(planned.id, binary_path("server"), server_env(planned, port));
    if (!log) {
      return log.error();
    }
    auto b = connect<actors::backend_actor>(sys, planned.id,
                                            {"127.0.0.1", number_after(*log, "control_port=")});
    if (!b) {
      return b.error();
    }
    return std::make_pair(*b, number_after(*log, " port="));
  };
  for (auto& planned : plan.backends) {
    auto b = start_backend(planned, 0);
    if (!b) {
      return b.error();
    }
    result.backends.emplace_back(planned.id, b->first);
    ports.push_back(b->second);
  }
  auto lb_log = procs->start("lb", binary_path("lb"), lb_env(plan, ports));
  if (!lb_log) {
    return lb_log.error();
  }
  auto lb_port = number_after(*lb_log, " port=");
  auto lb = connect<actors::balancer_control_actor>(
      sys, "lb", {"127.0.0.1", number_after(*lb_log, "control_port=")});
  if (!lb) {
    return lb.error();
  }
  auto clients_log =
      procs->start("clients", binary_path("client"), client_env(plan, {"127.0.0.1", lb_port}));
  if (!clients_log) {
    return clients_log.error();
  }
  auto clients = connect<actors::spawner_actor>(
      sys, "clients", {"127.0.0.1", number_after(*clients_log, "control_port=")});
  if (!clients) {
    return clients.error();
  }
  result.lb = *lb;
  result.clients = *clients;
  std::string pids;
  for (auto& [name, pid] : procs->pids()) {
    pids += fmt::format(" {}={}", name, pid);
  }
  result.summary = fmt::format("services: balancer 127.0.0.1:{}, pids{}", lb_port, pids);
  // Both hooks run on the director's one worker thread: no lock needed.
  auto by_id =
      std::make_shared<std::map<std::string, std::pair<actors::planned_backend, uint16_t>>>();
  for (size_t i = 0; i < plan.backends.size(); ++i) {
    (*by_id)[plan.backends[i].id] = {plan.backends[i], ports[i]};
  }
  result.add_hook = [by_id, start_backend](const actors::planned_backend& planned)
      -> caf::expected<std::pair<actors::backend_actor, uint16_t>> {
    auto b = start_backend(planned, 0);
    if (!b) {
      return b.error();
    }
    (*by_id)[planned.id] = {planned, b->second};
    return *b;
  };
  result.process_hook = [procs, by_id, start_backend](
                            const std::string& id,
                            bool restart) -> caf::expected<actors::backend_actor> {
    if (!restart) {
      procs->kill(id);
      return actors::backend_actor{};
    }
    auto i = by_id->find(id);
    if (i == by_id->end()) {
      return fail(fmt::format("{} is not a service backend", id));
    }
    auto b = start_backend(i->second.first, i->second.second);
    if (!b) {
      return b.error();
    }
    return b->first;
  };
  return result;
}

}  // namespace l4sim::apps
