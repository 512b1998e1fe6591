#include "apps/sim/stages.hpp"

#include <filesystem>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "actors/clients/arrivals.hpp"
#include "actors/director/scenario_topology.hpp"
#include "actors/io/system.hpp"
#include "apps/common/control.hpp"
#include "apps/sim/service_set.hpp"
#include "protocols/errors.hpp"

namespace l4sim::apps {

namespace {

using protocols::l4_errc;
namespace fs = std::filesystem;

caf::error fail(std::string text) {
  return caf::make_error(l4_errc::bad_config, std::move(text));
}

std::string ms_text(caf::timespan d) {
  return fmt::format("{}ms", std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

/// Pushes the scenario's backend settings to a backend's control actor.
void configure_backend(const actors::backend_actor& b, const protocols::scenario_backend& spec,
                       double scale) {
  using protocols::duration_value;
  caf::anon_send(b, caf::put_atom_v, delay_atom_v,
                 duration_value{actors::scaled(spec.delay, scale)});
  caf::anon_send(b, caf::put_atom_v, hang_atom_v, duration_value{actors::scaled(spec.hang, scale)});
  caf::anon_send(b, caf::put_atom_v, caf::timeout_atom_v,
                 duration_value{actors::scaled(spec.idle_timeout, scale)});
  caf::anon_send(b, caf::put_atom_v, max_conns_atom_v, spec.max_conns);
  caf::anon_send(b, caf::put_atom_v, chaos_atom_v, spec.chaos_pct);
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

caf::expected<actors::stage> attach_stage(caf::actor_system& sys, const protocols::scenario& scn,
                                          const std::map<std::string, protocols::endpoint>& where,
                                          double time_scale) {
  for (auto& key : std::vector<std::string>{"lb", "clients"}) {
    if (!where.count(key)) {
      return fail(fmt::format("--attach needs {}=HOST:PORT", key));
    }
  }
  actors::stage result;
  std::string summary = "attached:";
  for (auto& spec : scn.backends) {
    auto i = where.find(spec.id);
    if (i == where.end()) {
      return fail(fmt::format("--attach needs {}=HOST:PORT (a backend of {})", spec.id, scn.name));
    }
    auto b = connect<actors::backend_actor>(sys, spec.id, i->second);
    if (!b) {
      return b.error();
    }
    configure_backend(*b, spec, time_scale);
    result.backends.emplace_back(spec.id, *b);
    summary += fmt::format(" {}@{}", spec.id, protocols::to_string(i->second));
  }
  auto lb = connect<actors::balancer_control_actor>(sys, "lb", where.at("lb"));
  if (!lb) {
    return lb.error();
  }
  caf::anon_send(*lb, caf::put_atom_v, algo_atom_v, scn.balancer.algorithm);
  auto clients = connect<actors::spawner_actor>(sys, "clients", where.at("clients"));
  if (!clients) {
    return clients.error();
  }
  caf::anon_send(*clients, caf::put_atom_v, rate_atom_v, scn.clients.rate / time_scale);
  if (!scn.clients.mix.empty()) {
    caf::anon_send(*clients, caf::put_atom_v, mix_atom_v, actors::client_mix_for(scn.clients.mix));
  }
  result.lb = *lb;
  result.clients = *clients;
  result.summary = summary + fmt::format(" lb@{} clients@{}", protocols::to_string(where.at("lb")),
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
  return at == std::string::npos
             ? 0
             : static_cast<uint16_t>(std::stoi(text.substr(at + marker.size())));
}

}  // namespace

caf::expected<actors::stage> services_stage(caf::actor_system& sys, const protocols::scenario& scn,
                                            double time_scale,
                                            std::shared_ptr<service_set>& services) {
  services = std::make_shared<service_set>();
  auto procs = services;
  actors::stage result;
  std::string backends;
  std::map<std::string, uint16_t> ports;
  auto start_backend =
      [&sys, procs, time_scale](
          const protocols::scenario_backend& spec,
          uint16_t port) -> caf::expected<std::pair<actors::backend_actor, uint16_t>> {
    auto log = procs->start(
        spec.id, binary_path("server"),
        {{"SERVER_ID", spec.id},
         {"SERVER_PORT", std::to_string(port)},
         {"SERVER_HOST", "127.0.0.1"},
         {"SERVER_DELAY_MS", ms_text(actors::scaled(spec.delay, time_scale))},
         {"SERVER_MAX_CONNS", std::to_string(spec.max_conns)},
         {"SERVER_TIMEOUT_SECS", ms_text(actors::scaled(spec.idle_timeout, time_scale))},
         {"SERVER_CHAOS_PCT", std::to_string(spec.chaos_pct)},
         {"SERVER_HANG_MS", ms_text(actors::scaled(spec.hang, time_scale))},
         {"SERVER_STATS_INTERVAL", "0"},
         {"SERVER_CONTROL_PORT", "0"}});
    if (!log) {
      return log.error();
    }
    auto control = number_after(*log, "control on 127.0.0.1:");

    auto b = connect<actors::backend_actor>(sys, spec.id, {"127.0.0.1", control});
    if (!b) {
      return b.error();
    }
    return std::make_pair(*b, number_after(*log, "ready on port "));
  };
  for (auto& spec : scn.backends) {
    auto b = start_backend(spec, 0);
    if (!b) {
      return b.error();
    }
    result.backends.emplace_back(spec.id, b->first);
    ports[spec.id] = b->second;
    backends += fmt::format("{}{}=127.0.0.1:{}", backends.empty() ? "" : ",", spec.id, b->second);
  }
  auto& h = scn.balancer.health;
  auto lb_log = procs->start(
      "lb", binary_path("lb"),
      {{"LB_ID", scn.name},
       {"LB_PORT", "0"},
       {"LB_HOST", "127.0.0.1"},
       {"LB_BACKENDS", backends},
       {"LB_ALGO", scn.balancer.algorithm},
       {"LB_HEALTH_INTERVAL", ms_text(actors::scaled(h.interval, time_scale))},
       {"LB_HEALTH_TIMEOUT", ms_text(actors::scaled(h.timeout, time_scale))},
       {"LB_HEALTH_RISE", std::to_string(h.rise)},
       {"LB_HEALTH_FALL", std::to_string(h.fall)},
       {"LB_CONNECT_TIMEOUT_MS", ms_text(actors::scaled(scn.balancer.connect_timeout, time_scale))},
       {"LB_RETRIES", std::to_string(scn.balancer.retries)},
       {"LB_SEED", std::to_string(scn.seed)},
       {"LB_STATS_INTERVAL", "0"},
       {"LB_CONTROL_PORT", "0"}});
  if (!lb_log) {
    return lb_log.error();
  }
  auto lb_port = number_after(*lb_log, "ready on port ");
  auto lb = connect<actors::balancer_control_actor>(
      sys, "lb", {"127.0.0.1", number_after(*lb_log, "control on 127.0.0.1:")});
  if (!lb) {
    return lb.error();
  }
  auto mix =
      scn.clients.mix.empty() ? actors::default_mix() : actors::client_mix_for(scn.clients.mix);
  auto clients_log =
      procs->start("clients", binary_path("client"),
                   {{"CLIENT_TARGET", fmt::format("127.0.0.1:{}", lb_port)},
                    {"CLIENT_RATE", fmt::format("{}", scn.clients.rate / time_scale)},
                    {"CLIENT_MIX", actors::format_mix(mix)},
                    {"CLIENT_ARRIVAL", scn.clients.arrival},
                    {"CLIENT_SEED", std::to_string(scn.seed)},
                    {"CLIENT_MAX_ACTIVE", std::to_string(scn.clients.max_active)},
                    {"CLIENT_CONNECT_TIMEOUT_MS",
                     ms_text(actors::scaled(scn.clients.connect_timeout, time_scale))},
                    {"CLIENT_STATS_INTERVAL", "0"},
                    {"CLIENT_CONTROL_PORT", "0"}},
                   "control on");
  if (!clients_log) {
    return clients_log.error();
  }
  auto clients = connect<actors::spawner_actor>(
      sys, "clients", {"127.0.0.1", number_after(*clients_log, "control on 127.0.0.1:")});
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
  std::map<std::string, protocols::scenario_backend> specs;
  for (auto& spec : scn.backends) {
    specs[spec.id] = spec;
  }
  result.process_hook = [procs, specs, ports, start_backend](
                            const std::string& id,
                            bool restart) -> caf::expected<actors::backend_actor> {
    if (!restart) {
      procs->kill(id);
      return actors::backend_actor{};
    }
    auto spec = specs.find(id);
    if (spec == specs.end()) {
      return fail(fmt::format("{} is not a service backend", id));
    }
    auto b = start_backend(spec->second, ports.at(id));
    if (!b) {
      return b.error();
    }
    return b->first;
  };
  return result;
}

}  // namespace l4sim::apps
