#include "apps/sim/virtual_run.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/test_multiplexer.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

#include "actors/io/system.hpp"
#include "actors/vnet/virtual_stage.hpp"
#include "protocols/errors.hpp"
#include "protocols/text_escape.hpp"

namespace l4sim::apps {

namespace {

/// What the director told the observer since the loop last looked.
struct outbox {
  std::vector<actors::director_note> notes;
  std::vector<actors::stats_frame> frames;
  std::optional<actors::director_done> done;
};

caf::behavior observer(caf::event_based_actor*, std::shared_ptr<outbox> out) {
  return {
      [=](actors::director_note& n) { out->notes.push_back(std::move(n)); },
      [=](actors::stats_frame& f) { out->frames.push_back(std::move(f)); },
      [=](actors::director_done& d) { out->done = std::move(d); },
  };
}

/// Runs every ready actor and broker until nothing is ready.
void run_ready(caf::scheduler::test_coordinator& sched, caf::io::network::test_multiplexer& mpx) {
  for (;;) {
    auto ran = sched.run();
    while (mpx.try_exec_runnable()) {
      ++ran;
    }
    if (ran == 0) {
      return;
    }
  }
}

}  // namespace

std::string virtual_rejects(const actors::run_plan&) {
  // Every scenario key and timeline event plays on the virtual stage today. A feature the
  // virtual network cannot model (when one lands live first) is refused here, naming the
  // file, line and feature, so that --virtual never runs something different silently.
  return {};
}

std::string live_rejects(const actors::run_plan& plan) {
  const auto& scn = plan.scn;
  // Loopback has no knobs for latency, jitter, bandwidth, SYN loss or the window, and
  // nothing here partitions or holds it: a live run would play something else.
  if (auto key = scn.network.first_non_default(); !key.empty()) {
    for (const auto& [given, where] : scn.network.given) {
      if (given == key) {
        return fmt::format(
            "{}:{}:{}: network.{}: a live run on loopback cannot model it; play "
            "this scenario with --virtual",
            protocols::escape_control(scn.file), where.line, where.column, key);
      }
    }
  }
  for (const auto& ev : scn.timeline) {
    using protocols::event_kind;
    if (ev.kind == event_kind::partition || ev.kind == event_kind::heal ||
        ev.kind == event_kind::hold || ev.kind == event_kind::release) {
      return fmt::format(
          "{}:{}:{}: {} in timeline event: a live run on loopback cannot model "
          "it; play this scenario with --virtual",
          protocols::escape_control(scn.file), ev.where.line, ev.where.column,
          protocols::to_string(ev.kind));
    }
  }
  return {};
}

caf::expected<actors::director_done> play_virtually(const actors::run_plan& plan, live_view& view,
                                                    signal_guard& signals,
                                                    std::chrono::seconds wall_limit, double pace) {
  caf::actor_system_config cfg;
  actors::configure_system(cfg);
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("middleman.network-backend", caf::atom("testing"));
  caf::actor_system sys{cfg};
  // Whatever is still alive at the end (timers in flight) is not waited for: nothing runs
  // the actors once the loop stops.
  sys.await_actors_before_shutdown(false);
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto& mpx = dynamic_cast<caf::io::network::test_multiplexer&>(sys.middleman().backend());
  auto net =
      std::make_shared<actors::vnet>(sys, actors::network_config(plan.scn.network, plan.scn.seed));
  auto on = actors::build_virtual_stage(sys, plan, net);
  if (!on) {
    return on.error();
  }
  auto out = std::make_shared<outbox>();
  actors::director_config dcfg;
  dcfg.plan = plan;
  dcfg.on = std::move(*on);
  dcfg.observer = sys.spawn(observer, out);
  auto director = actors::spawn_director(sys, dcfg);
  auto wall_start = std::chrono::steady_clock::now();
  auto wall_deadline = wall_start + wall_limit;
  if (pace > 0) {
    wall_deadline += std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(std::chrono::duration<double>(plan.scn.length).count() /
                                      pace));
  }
  auto virtual_start = sched.clock().now();
  bool interrupted = false;
  for (uint64_t step = 0;; ++step) {
    run_ready(sched, mpx);
    for (auto& n : out->notes) {
      view.on_note(n);
    }
    out->notes.clear();
    for (auto& f : out->frames) {
      view.on_frame(f);
    }
    out->frames.clear();
    if (out->done) {
      break;
    }
    if (step % 1024 == 0) {
      if (!interrupted && signals.wait(std::chrono::nanoseconds{0}) != 0) {
        // Ctrl-C: end the run now and judge what was recorded.
        interrupted = true;
        caf::anon_send(director, caf::close_atom_v);
        continue;
      }
      if (std::chrono::steady_clock::now() > wall_deadline) {
        caf::anon_send_exit(director, caf::exit_reason::user_shutdown);
        run_ready(sched, mpx);
        return caf::make_error(protocols::l4_errc::bad_config,
                               "the virtual run did not end in time");
      }
    }
    if (pace > 0 && !interrupted && !sched.clock().schedule().empty()) {
      // Watching: the next virtual step happens when the wall clock gets there.
      auto due =
          std::chrono::duration<double>(sched.clock().schedule().begin()->first - virtual_start) /
          pace;
      auto wake = wall_start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(due);
      while (std::chrono::steady_clock::now() < wake) {
        // In slices, so that Ctrl-C ends a slow-paced run at once.
        if (signals.wait(std::chrono::nanoseconds{0}) != 0) {
          interrupted = true;
          caf::anon_send(director, caf::close_atom_v);
          break;
        }
        std::this_thread::sleep_until(
            std::min(wake, std::chrono::steady_clock::now() + std::chrono::milliseconds{50}));
      }
      if (interrupted) {
        continue;
      }
    }
    if (!sched.trigger_timeout()) {
      return caf::make_error(protocols::l4_errc::bad_config,
                             "the virtual run stalled: nothing left to run and no timer");
    }
  }
  // The director stopped the stage when it quit; let the actors see their exits.
  run_ready(sched, mpx);
  return std::move(*out->done);
}

}  // namespace l4sim::apps
