// `sim`: runs l4sim scenarios in one process: `sim run NAME`, `sim list`, `sim show NAME`,
// `sim validate FILE...`.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/clients/client_stats.hpp"
#include "actors/director/director.hpp"
#include "actors/director/local_stage.hpp"
#include "actors/director/run_plan.hpp"
#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "apps/common/admin.hpp"
#include "apps/common/admin_routes.hpp"
#include "apps/common/control.hpp"
#include "apps/common/service_env.hpp"
#include "apps/common/signals.hpp"
#include "apps/sim/experiment.hpp"
#include "apps/sim/live_view.hpp"
#include "apps/sim/report.hpp"
#include "apps/sim/stages.hpp"
#include "apps/sim/sweep.hpp"
#include "apps/sim/virtual_run.hpp"
#include "protocols/errors.hpp"
#include "protocols/scenario/scenario_loader.hpp"
#include "protocols/text_escape.hpp"

using namespace l4sim;
using namespace std::chrono_literals;

namespace {

/// Where named scenarios live: --scenarios, then $L4SIM_SCENARIOS, then ./scenarios, then
/// the source tree this binary was built from.
std::string scenarios_dir(const std::string& flag) {
  if (!flag.empty()) {
    return flag;
  }
  if (auto* env = std::getenv("L4SIM_SCENARIOS"); env != nullptr && *env != '\0') {
    return env;
  }
  if (std::filesystem::is_directory("scenarios")) {
    return "scenarios";
  }
  return L4SIM_SCENARIO_DIR;
}

/// Shows the spawner's real-time table in scenario time, like every other figure of a run.
protocols::client_stats in_scenario_time(protocols::client_stats st,
                                         const protocols::time_scale& scale) {
  auto unscale = [&](caf::timespan t) { return scale.scenario(t); };
  st.elapsed = unscale(st.elapsed);
  st.rate = scale.scenario_rate(st.rate);
  for (auto& row : st.rows) {
    row.p50 = unscale(row.p50);
    row.p90 = unscale(row.p90);
    row.p99 = unscale(row.p99);
    row.max = unscale(row.max);
    row.connect_p50 = unscale(row.connect_p50);
  }
  return st;
}

struct run_options {
  std::string target;
  std::string dir;
  std::optional<uint64_t> seed;
  std::string duration;
  double time_scale = 1;
  std::string report;
  bool quiet = false;
  bool json = false;
  bool verbose = false;
  bool services = false;
  std::string attach;
  std::vector<std::string> sets;  ///< --set KEY=VALUE, in order
  apps::control_tls control_tls;  ///< sim's side of control ports with mutual TLS (--attach)
  std::string admin;              ///< [host:]port of the /metrics HTTP port; empty: none
  std::string access_log;         ///< the balancer's access log: stdout, a file; empty: off
  std::string pump;               ///< the balancer's byte pump (broker, direct); empty: default
  std::string scheduler;          ///< the balancer's CAF scheduler policy; empty: default
  bool virtual_time = false;      ///< --virtual: virtual clock and network
  double pace = 0;                ///< --pace: scenario seconds per wall second; 0 = flat out
};

int conclude(const run_options& opts, const actors::run_plan& plan, apps::view_mode mode,
             actors::director_done& done);

int run_on_stage(const run_options& opts, apps::signal_guard& signals,
                 std::shared_ptr<apps::service_set>& services);

/// Returns why `--access-log target` cannot be used in this mode, or "".
std::string access_log_problem(const std::string& target, bool services, bool attach) {
  if (attach) {
    return "sim does not start the balancer with --attach: set LB_ACCESS_LOG on the lb";
  }
  if (target == "stdout" || target == "off") {
    // The lb process's stdout goes to a log sim deletes at the end of the run.
    return services ? "with --services give a file; the lb's stdout is not kept" : "";
  }
  std::FILE* file = std::fopen(target.c_str(), "ae");
  if (file == nullptr) {
    return fmt::format("cannot append to \"{}\": {}", protocols::escape_control(target),
                       std::strerror(errno));
  }
  std::fclose(file);
  return "";
}

/// Returns the access log target for the balancer: "" for off, a file as an absolute path
/// (the lb of --services runs in another working directory).
std::string access_log_target(const std::string& target) {
  if (target == "off") {
    return {};
  }
  if (target == "stdout") {
    return target;
  }
  return std::filesystem::absolute(target).string();
}

int run(const run_options& opts, apps::signal_guard& signals) {
  std::shared_ptr<apps::service_set> services;
  auto rc = run_on_stage(opts, signals, services);
  if (services) {
    // Every service process is stopped and reaped here, whatever ended the run.
    auto all = apps::service_pids(*services);
    services.reset();
    std::string pids;
    for (auto& [name, pid] : all) {
      pids += fmt::format(" {}={}", name, pid);
    }
    fmt::print(stderr, "sim: stopped {} service processes:{}\n", all.size(), pids);
  }
  return rc;
}

int run_on_stage(const run_options& opts, apps::signal_guard& signals,
                 std::shared_ptr<apps::service_set>& services) {
  std::vector<protocols::scenario_override> overrides;
  for (auto& text : opts.sets) {
    auto parsed = protocols::parse_override("--set", text);
    if (!parsed.error.empty()) {
      fmt::print(stderr, "sim: {}\n", protocols::escape_control(parsed.error));
      return 2;
    }
    overrides.push_back(parsed.value);
  }
  if (opts.pace != 0 && !opts.virtual_time) {
    fmt::print(stderr,
               "sim: --pace paces a virtual run: add --virtual (a live run is paced by "
               "the wall clock, see --time-scale)\n");
    return 2;
  }
  auto loaded = protocols::find_scenario(opts.target, opts.dir, overrides);
  if (!loaded.ok()) {
    fmt::print(stderr, "{}\n", loaded.error_text());
    return 2;
  }
  actors::plan_options popts;
  popts.seed = opts.seed;
  popts.time_scale = opts.time_scale;
  popts.verbose = opts.verbose;
  if (!opts.duration.empty()) {
    auto d = protocols::parse_duration(opts.duration, 1s);
    if (!d || d->count() <= 0) {
      fmt::print(stderr, "sim: --duration: \"{}\" is not a duration (e.g. 20s)\n", opts.duration);
      return 2;
    }
    // A run shorter than an event or a window would judge what never ran: refused.
    auto fitted = protocols::with_length(*loaded.value, *d, "--duration " + opts.duration);
    if (!fitted.ok()) {
      fmt::print(stderr, "{}", fitted.error_text());
      return 2;
    }
    popts.length = *d;
  }
  auto planned = actors::make_plan(*loaded.value, popts);
  if (!planned) {
    fmt::print(stderr, "sim: {}\n", actors::describe(planned.error()));
    return 2;
  }
  auto& plan = *planned;
  auto& scn = plan.scn;
  if (!opts.access_log.empty()) {
    auto why = access_log_problem(opts.access_log, opts.services, !opts.attach.empty());
    if (!why.empty()) {
      fmt::print(stderr, "sim: --access-log: {}\n", why);
      return 2;
    }
    plan.balancer.access_log = access_log_target(opts.access_log);
  }
  if (!opts.pump.empty()) {
    plan.balancer.session.pump.kind = *actors::parse_pump_kind(opts.pump);  // CLI checked it
  }
  if (!opts.scheduler.empty()) {
    plan.balancer.scheduler = *actors::parse_scheduler_kind(opts.scheduler);  // CLI checked it
  }
  std::optional<std::map<std::string, protocols::endpoint>> attach_to;
  if (!opts.attach.empty()) {
    auto where = apps::parse_attach(opts.attach);
    if (!where) {
      fmt::print(stderr, "sim: {}\n", actors::describe(where.error()));
      return 2;
    }
    attach_to = *where;
  }
  // What a mode cannot play is refused before anything starts.
  auto refused = opts.virtual_time ? std::string{}
                 : opts.services   ? apps::services_reject(plan)
                 : attach_to       ? apps::attach_rejects(plan)
                                   : std::string{};
  if (refused.empty() && !opts.virtual_time) {
    refused = apps::live_rejects(plan);
  }
  if (!refused.empty()) {
    fmt::print(stderr, "sim: {}\n", refused);
    return 2;
  }
  if (opts.virtual_time) {
    auto why = opts.services              ? "--services"
               : attach_to                ? "--attach"
               : !opts.admin.empty()      ? "--admin"
               : !opts.access_log.empty() ? "--access-log"
               : opts.time_scale != 1     ? "--time-scale"
                                          : "";
    if (*why != '\0') {
      fmt::print(stderr, "sim: --virtual cannot be combined with {} (live runs only)\n", why);
      return 2;
    }
    if (auto no = apps::virtual_rejects(plan); !no.empty()) {
      fmt::print(stderr, "sim: {}\n", no);
      return 2;
    }
  }
  std::optional<protocols::endpoint> admin_where;
  if (!opts.admin.empty()) {
    admin_where = apps::parse_admin_endpoint(opts.admin);
    if (!admin_where) {
      fmt::print(stderr, "sim: --admin: \"{}\" is not [host:]port with a host that resolves\n",
                 protocols::escape_control(opts.admin));
      return 2;
    }
  }
  auto mode = opts.json    ? apps::view_mode::json
              : opts.quiet ? apps::view_mode::quiet
                           : apps::view_mode::live;
  if (mode == apps::view_mode::live) {
    fmt::print("l4sim: {} — {}\n", scn.name, protocols::escape_control(scn.description));
    std::fflush(stdout);
  }
  if (opts.virtual_time) {
    apps::live_view view{scn.name, scn.length, opts.time_scale, mode};
    view.set_clock(opts.pace > 0 ? fmt::format("virtual, pace {:g}", opts.pace)
                                 : std::string{"virtual"});
    auto played = apps::play_virtually(plan, view, signals, std::chrono::minutes{10}, opts.pace);
    view.close();
    if (!played) {
      fmt::print(stderr, "sim: {}: {}\n", scn.name, actors::describe(played.error()));
      return 1;
    }
    return conclude(opts, plan, mode, *played);
  }
  caf::actor_system_config sys_cfg;
  actors::configure_system(sys_cfg);
  if (!opts.services && opts.attach.empty() && !opts.scheduler.empty()) {
    // In-process, the balancer runs in this one actor system with the backends and clients:
    // CAF's default policy unless asked, as sharing was measured only on a loaded machine
    // there (less CPU per client, but fewer clients started at 2,000/s: docs/performance.md).
    actors::configure_scheduler(sys_cfg, plan.balancer.scheduler);
  }
  if (!opts.attach.empty()) {
    // --services starts its services on loopback with plain control ports.
    auto why = apps::check_control_tls(opts.control_tls,
                                       {"--control-cert", "--control-key", "--control-ca"});
    if (!why.empty()) {
      fmt::print(stderr, "sim: {}\n", why);
      return 2;
    }
    apps::configure_control_tls(sys_cfg, opts.control_tls);
  }
  caf::actor_system sys{sys_cfg};
  actors::widen_loop_pipes();
  caf::scoped_actor self{sys};
  caf::expected<actors::stage> on{caf::error{}};
  if (opts.services) {
    on = apps::services_stage(sys, plan, services);
  } else if (attach_to) {
    on = apps::attach_stage(sys, plan, *attach_to);
  } else {
    on = actors::build_local_stage(sys, plan);
  }
  if (!on) {
    fmt::print(stderr, "sim: {}: {}\n", scn.name, actors::describe(on.error()));
    // An attached lb that does not run the scenario's settings is bad input, like a bad file.
    return attach_to && on.error() == protocols::l4_errc::bad_scenario ? 2 : 1;
  }
  apps::admin_server admin;
  if (admin_where) {
    apps::add_stage_routes(admin, sys, *on);
    std::string why;
    auto port = admin.start(*admin_where, why);
    if (!port) {
      fmt::print(stderr, "sim: --admin: {}\n", why);
      return 1;
    }
    fmt::print(stderr, "sim: admin on http://{}:{} (GET /metrics)\n", admin_where->host, *port);
  }
  actors::director_config dcfg;
  dcfg.plan = plan;
  dcfg.on = std::move(*on);
  dcfg.observer = caf::actor{self};
  auto director = actors::spawn_director(sys, dcfg);
  apps::live_view view{scn.name, scn.length, opts.time_scale, mode};
  std::optional<actors::director_done> done;
  // Generous: the run itself, plus the clients' finish grace and set-up.
  auto deadline = std::chrono::steady_clock::now() + plan.scale.real(scn.length) + 60s;
  bool interrupted = false;
  while (!done) {
    if (std::chrono::steady_clock::now() > deadline) {
      fmt::print(stderr, "sim: the run did not end in time\n");
      self->send_exit(director, caf::exit_reason::user_shutdown);
      return 1;
    }
    if (!interrupted && signals.wait(0ns) != 0) {
      // Ctrl-C: end the run now and judge what was recorded.
      interrupted = true;
      self->send(director, caf::close_atom_v);
    }
    self->receive([&](actors::director_note& n) { view.on_note(n); },
                  [&](actors::stats_frame& f) { view.on_frame(f); },
                  [&](actors::director_done& d) { done = std::move(d); },
                  caf::after(std::chrono::milliseconds{200}) >> [] {});
  }
  view.close();
  return conclude(opts, plan, mode, *done);
}

/// Prints the outcome of a run, writes its report and returns the exit code.
int conclude(const run_options& opts, const actors::run_plan& plan, apps::view_mode mode,
             actors::director_done& done_ref) {
  auto& scn = plan.scn;
  auto* done = &done_ref;
  if (!done->error.empty()) {
    fmt::print(stderr, "sim: {}: {}\n", scn.name, protocols::escape_control(done->error));
    return 1;
  }
  apps::run_summary summary{scn, opts.time_scale, *done};
  if (mode == apps::view_mode::json) {
    fmt::print("{}\n", apps::report_json(summary).dump(2, ' ', false,
                                                       nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("\n{}\n\n{}\n",
               actors::format_client_table(in_scenario_time(done->clients, plan.scale)),
               apps::format_verdicts(done->verdicts));
  }
  if (!opts.report.empty()) {
    auto err = apps::write_report(opts.report, summary);
    if (!err.empty()) {
      fmt::print(stderr, "sim: report: {}\n", err);
      return 1;
    }
    if (mode != apps::view_mode::json) {
      fmt::print("report: {}/report.json, timeseries.csv, chart.png\n", opts.report);
    }
  }
  for (auto& v : done->verdicts) {
    if (!v.passed) {
      return 1;
    }
  }
  return 0;
}

int list(const std::string& dir) {
  auto all = protocols::list_scenarios(dir);
  if (all.empty()) {
    fmt::print(stderr, "sim: no scenarios in {}\n", dir);
    return 1;
  }
  size_t width = 0;
  for (auto& s : all) {
    width = std::max(width, s.name.size());
  }
  for (auto& s : all) {
    fmt::print("{:<{}}  {}\n", protocols::escape_control(s.name), width,
               protocols::escape_control(s.description));
  }
  return 0;
}

int show(const std::string& target, const std::string& dir) {
  auto loaded = protocols::find_scenario(target, dir);
  if (!loaded.ok()) {
    fmt::print(stderr, "{}\n", loaded.error_text());
    return 2;
  }
  std::ifstream in{loaded.value->file};
  std::stringstream text;
  text << in.rdbuf();
  fmt::print("# {}\n{}", loaded.value->file, protocols::escape_control(text.str(), true));
  return 0;
}

/// `sim env`'s arguments.
struct env_args {
  std::string target;     ///< scenario NAME or FILE
  std::string service;    ///< lb, client or a backend id
  std::string backends;   ///< lb: ID=HOST:PORT,... where the lb reaches each backend
  std::string target_at;  ///< client: the balancer's HOST:PORT
  double time_scale = 1;
  std::vector<std::string> sets;
};

/// Prints a service's variables for a scenario, one VAR=VALUE a line: what an lb must be
/// started with for `sim run NAME --attach`, a backend's or the client's settings.
int env_command(const env_args& args, const std::string& dir) {
  std::vector<protocols::scenario_override> overrides;
  for (auto& text : args.sets) {
    auto parsed = protocols::parse_override("--set", text);
    if (!parsed.error.empty()) {
      fmt::print(stderr, "sim: {}\n", protocols::escape_control(parsed.error));
      return 2;
    }
    overrides.push_back(parsed.value);
  }
  auto loaded = protocols::find_scenario(args.target, dir, overrides);
  if (!loaded.ok()) {
    fmt::print(stderr, "{}\n", loaded.error_text());
    return 2;
  }
  actors::plan_options popts;
  popts.time_scale = args.time_scale;
  auto plan = actors::make_plan(*loaded.value, popts);
  if (!plan) {
    fmt::print(stderr, "sim: {}\n", actors::describe(plan.error()));
    return 2;
  }
  apps::service_env env;
  if (args.service == "lb") {
    env = apps::lb_settings_env(actors::settings_of(plan->balancer));
    env["LB_ALGO"] = plan->balancer.algorithm;
    if (!args.backends.empty()) {
      auto where = apps::parse_attach(args.backends);
      if (!where) {
        fmt::print(stderr, "sim: env --backends: {}\n", actors::describe(where.error()));
        return 2;
      }
      std::vector<protocols::endpoint> at;
      for (auto& b : plan->backends) {
        auto i = where->find(b.id);
        if (i == where->end()) {
          fmt::print(stderr, "sim: env --backends: no address for {}, a backend of {}\n", b.id,
                     plan->scn.name);
          return 2;
        }
        at.push_back(i->second);
      }
      env["LB_BACKENDS"] = apps::lb_env(*plan, at).at("LB_BACKENDS");
    }
  } else if (args.service == "client") {
    protocols::endpoint to;
    if (!args.target_at.empty()) {
      auto parsed = protocols::parse_endpoint(args.target_at);
      if (!parsed) {
        fmt::print(stderr, "sim: env --target: \"{}\" is not HOST:PORT\n",
                   protocols::escape_control(args.target_at));
        return 2;
      }
      to = *parsed;
    }
    env = apps::client_env(*plan, to);
    env.erase("CLIENT_CONTROL_PORT");
    if (args.target_at.empty()) {
      env.erase("CLIENT_TARGET");
    }
  } else {
    auto b = std::find_if(plan->backends.begin(), plan->backends.end(),
                          [&](auto& x) { return x.id == args.service; });
    if (b == plan->backends.end()) {
      fmt::print(stderr, "sim: env: \"{}\" is not lb, client or a backend of {}\n",
                 protocols::escape_control(args.service), plan->scn.name);
      return 2;
    }
    env = apps::server_env(*b, 0);
    for (auto key : {"SERVER_PORT", "SERVER_HOST", "SERVER_CONTROL_PORT"}) {
      env.erase(key);
    }
  }
  for (auto& [name, value] : env) {
    fmt::print("{}={}\n", name, protocols::escape_control(value));
  }
  return 0;
}

int validate(const std::vector<std::string>& files, bool virtual_time) {
  int rc = 0;
  for (auto& f : files) {
    auto loaded = protocols::load_scenario_file(f);
    if (loaded.ok() && virtual_time) {
      // What the virtual network cannot play yet is a validation error under --virtual.
      auto plan = actors::make_plan(*loaded.value, {});
      auto why = plan ? apps::virtual_rejects(*plan) : actors::describe(plan.error());
      if (!why.empty()) {
        fmt::print(stderr, "{}\n", why);
        rc = 2;
        continue;
      }
    }
    if (loaded.ok()) {
      // A file only the virtual network can play is valid, but say so.
      std::string only;
      if (!virtual_time) {
        auto plan = actors::make_plan(*loaded.value, {});
        if (plan && !apps::live_rejects(*plan).empty()) {
          only = "; --virtual only: a live run refuses its network";
        }
      }
      fmt::print("{}: ok ({} backends, {} events, {} expectations{})\n",
                 protocols::escape_control(f), loaded.value->backends.size(),
                 loaded.value->timeline.size(), loaded.value->expect.size(), only);
    } else {
      fmt::print(stderr, "{}\n", loaded.error_text());
      rc = 2;
    }
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"l4sim: simulate Layer-4 load balancing with real TCP", "sim"};
  app.require_subcommand(1);
  std::string dir_flag;
  app.add_option("--scenarios", dir_flag, "folder of named scenarios");
  run_options opts;
  auto* run_cmd = app.add_subcommand("run", "play a scenario, show it live, judge it");
  run_cmd->add_option("scenario", opts.target, "scenario NAME or FILE")->required();
  run_cmd->add_option("--seed", opts.seed, "override the scenario's seed");
  run_cmd->add_option("--set", opts.sets,
                      "override a scenario key before validation, e.g. --set balancer.algorithm=lc "
                      "--set backends.server-3.delay=2s (repeatable)");
  run_cmd->add_option("--duration", opts.duration, "override the scenario's duration (e.g. 20s)");
  run_cmd->add_option("--time-scale", opts.time_scale,
                      "real time per scenario time: 0.1 runs ten times faster");
  run_cmd->add_option("--report", opts.report, "write report.json, timeseries.csv, chart.png here");
  auto* quiet = run_cmd->add_flag("--quiet", opts.quiet, "print only the final tables");
  run_cmd->add_flag("--json", opts.json, "print only the JSON report")->excludes(quiet);
  run_cmd->add_flag("--verbose", opts.verbose, "let every component log");
  run_cmd->add_flag("--virtual", opts.virtual_time,
                    "play on a virtual clock and network: deterministic, faster than real time");
  run_cmd
      ->add_option("--pace", opts.pace,
                   "with --virtual: scenario seconds per wall second, to watch (1 = wall speed)")
      ->check(CLI::Range(0.001, 1e6));
  run_cmd->add_option("--admin", opts.admin,
                      "serve GET /metrics of the run on [host:]port (loopback unless a host)");
  run_cmd
      ->add_option("--pump", opts.pump,
                   "the balancer's byte pump: broker, direct or splice (default direct; LB_PUMP)")
      ->check(CLI::IsMember({"broker", "direct", "splice"}));
  run_cmd
      ->add_option("--scheduler", opts.scheduler,
                   "CAF scheduler policy of the balancer: sharing or stealing (default "
                   "sharing; LB_SCHEDULER); in-process it is the whole run's (default "
                   "stealing there)")
      ->check(CLI::IsMember({"sharing", "stealing"}));
  run_cmd->add_option("--access-log", opts.access_log,
                      "the balancer's access log, one line per connection: stdout or a FILE "
                      "(with --services: a FILE)");
  auto* services_flag = run_cmd->add_flag(
      "--services", opts.services, "run every backend, the balancer and the clients as processes");
  run_cmd
      ->add_option("--attach", opts.attach,
                   "drive running services: lb=HOST:PORT,server-1=HOST:PORT,...,clients=HOST:PORT "
                   "(their control ports)")
      ->excludes(services_flag);
  apps::add_control_tls_options(*run_cmd, opts.control_tls);
  apps::sweep_args sweep;
  auto* sweep_cmd = app.add_subcommand(
      "sweep", "run a scenario over a grid of values x seeds in parallel; tables and charts");
  sweep_cmd->add_option("scenario", sweep.target, "scenario NAME or FILE")->required();
  sweep_cmd->add_option("--vary", sweep.vary, "KEY=V1,V2,... a varied scenario key (repeatable)")
      ->required();
  sweep_cmd->add_option("--set", sweep.sets, "KEY=VALUE for every run (repeatable)");
  sweep_cmd->add_option("--seeds", sweep.seeds, "seeds per grid point, 1..N (default 5)");
  sweep_cmd->add_option("--jobs", sweep.jobs, "runs at a time (default: the number of cores)");
  sweep_cmd->add_flag("--live", sweep.live,
                      "play the runs live on loopback (default: on virtual time)");
  sweep_cmd->add_flag("--virtual", sweep.virtual_time, "play the runs on virtual time (default)");
  sweep_cmd->add_option("--time-scale", sweep.time_scale,
                        "real time per scenario time of live runs (implies --live; default 0.2)");
  sweep_cmd->add_option("--out", sweep.out, "folder of runs/, runs.csv, summary.csv, charts/")
      ->required();
  sweep_cmd->add_option("--metrics", sweep.metrics, "metrics to chart (default all)")
      ->delimiter(',');
  sweep_cmd->add_flag("--fresh", sweep.fresh,
                      "run everything again (default: keep the finished runs in --out)");
  apps::experiment_args experiment;
  std::string experiments_flag;
  auto* experiment_cmd = app.add_subcommand(
      "experiment", "run an experiment file (experiments/NAME.yaml) and judge its claims");
  experiment_cmd->add_option("experiment", experiment.target, "experiment NAME or FILE")
      ->required();
  experiment_cmd->add_option("--out", experiment.out, "folder (default out/experiments/NAME)");
  experiment_cmd->add_option("--jobs", experiment.jobs,
                             "runs at a time (default: the file's, "
                             "else the number of cores)");
  experiment_cmd->add_option("--experiments", experiments_flag, "folder of named experiments");
  experiment_cmd->add_flag("--live", experiment.live,
                           "play the runs live (default: the file's mode, else virtual)");
  experiment_cmd->add_flag("--virtual", experiment.virtual_time,
                           "play the runs on virtual time whatever the file's mode");
  experiment_cmd->add_option("--time-scale", experiment.time_scale,
                             "real time per scenario time of live runs (implies --live)");
  experiment_cmd->add_flag("--fresh", experiment.fresh,
                           "run everything again (default: keep the finished runs in --out)");
  auto* list_cmd = app.add_subcommand("list", "list the named scenarios");
  std::string show_target;
  auto* show_cmd = app.add_subcommand("show", "print a scenario file");
  show_cmd->add_option("scenario", show_target, "scenario NAME or FILE")->required();
  std::vector<std::string> files;
  auto* validate_cmd = app.add_subcommand("validate", "check scenario files without running");
  validate_cmd->add_option("files", files, "scenario files")->required();
  bool validate_virtual = false;
  validate_cmd->add_flag("--virtual", validate_virtual,
                         "also refuse what `sim run --virtual` cannot play yet");
  env_args env;
  auto* env_cmd = app.add_subcommand(
      "env", "print a service's variables for a scenario (what --attach needs the lb to run)");
  env_cmd->add_option("scenario", env.target, "scenario NAME or FILE")->required();
  env_cmd->add_option("service", env.service, "lb, client or a backend id")->required();
  env_cmd->add_option("--backends", env.backends,
                      "lb: where it reaches each backend, ID=HOST:PORT,... (LB_BACKENDS)");
  env_cmd->add_option("--target", env.target_at, "client: the balancer's HOST:PORT");
  env_cmd->add_option("--time-scale", env.time_scale, "as `sim run --time-scale`");
  env_cmd->add_option("--set", env.sets, "as `sim run --set` (repeatable)");
  // Every command-line error exits 2, like every other bad input (CLI11 would use 104-109).
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  auto dir = scenarios_dir(dir_flag);
  if (*list_cmd) {
    return list(dir);
  }
  if (*show_cmd) {
    return show(show_target, dir);
  }
  if (*validate_cmd) {
    return validate(files, validate_virtual);
  }
  if (*env_cmd) {
    return env_command(env, dir);
  }
  if (*experiment_cmd) {
    apps::signal_guard signals;
    auto where = !experiments_flag.empty()                      ? experiments_flag
                 : std::filesystem::is_directory("experiments") ? std::string{"experiments"}
                                                                : std::string{L4SIM_EXPERIMENT_DIR};
    return apps::experiment_command(experiment, where, dir, signals);
  }
  if (*sweep_cmd) {
    apps::signal_guard signals;
    return apps::sweep_command(sweep, dir, signals);
  }
  opts.dir = dir;
  actors::raise_open_file_limit();
  apps::signal_guard signals;
  return run(opts, signals);
}
