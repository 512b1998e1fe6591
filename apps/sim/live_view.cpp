#include "apps/sim/live_view.hpp"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "protocols/text_escape.hpp"

namespace l4sim::apps {

namespace {

std::string stamp(protocols::duration at) {
  return fmt::format("[{:7.2f}s]", std::chrono::duration<double>(at).count());
}

}  // namespace

live_view::live_view(std::string title, protocols::duration length, double time_scale,
                     view_mode mode)
    : title_(protocols::escape_control(title)),
      length_(length),
      time_scale_(time_scale),
      mode_(mode),
      terminal_(::isatty(STDOUT_FILENO) == 1) {}

void live_view::on_note(const actors::director_note& n) {
  if (mode_ != view_mode::live) {
    return;
  }
  erase_block();
  fmt::print("{} {}\n", stamp(n.at), protocols::escape_control(n.text));
  print_block();
  std::fflush(stdout);
}

void live_view::on_frame(const actors::stats_frame& f) {
  if (mode_ != view_mode::live) {
    return;
  }
  last_block_ = block(f);
  if (terminal_) {
    erase_block();
    print_block();
  } else {
    // Piped: one status line per scenario second is enough to follow a run in a log.
    auto second = std::chrono::duration_cast<std::chrono::seconds>(f.sample.at).count();
    if (second == last_second_) {
      return;
    }
    last_second_ = second;
    std::string line = stamp(f.sample.at);
    for (auto& [id, total] : f.sample.total) {
      auto queued = f.sample.queued.count(id) ? f.sample.queued.at(id) : 0;
      line +=
          fmt::format(" {} {} a={} t={}{} |", protocols::escape_control(id), state_of(f.sample, id),
                      f.sample.active.count(id) ? f.sample.active.at(id) : 0, total,
                      queued > 0 ? fmt::format(" q={}", queued) : "");
    }
    line += fmt::format(" clients started={} active={} failed={}", f.sample.clients_started,
                        f.sample.clients_active, f.sample.clients_failed);
    fmt::print("{}\n", line);
  }
  std::fflush(stdout);
}

const char* live_view::state_of(const protocols::run_record::sample& s, const std::string& id) {
  auto flag = [&](const std::map<std::string, bool>& m, bool otherwise) {
    auto i = m.find(id);
    return i == m.end() ? otherwise : i->second;
  };
  // Why a backend takes nothing new comes first: DOWN, then ejected, then draining.
  return !flag(s.healthy, true)    ? "DOWN"
         : flag(s.ejected, false)  ? "EJECT"
         : flag(s.draining, false) ? "DRAIN"
                                   : "UP";
}

void live_view::close() {
  if (mode_ == view_mode::live) {
    erase_block();
    std::fflush(stdout);
  }
}

std::string live_view::block(const actors::stats_frame& f) const {
  auto& s = f.sample;
  // Scenario time, on whichever clock plays it.
  auto clock = clock_.empty() ? fmt::format("time scale {:g}", time_scale_) : clock_;
  std::string out = fmt::format("── {}  {:.1f}s / {}  ({}) ──\n", title_,
                                std::chrono::duration<double>(s.at).count(),
                                protocols::format_duration(length_), clock);
  size_t width = 8;
  for (auto& [id, total] : s.total) {
    width = std::max(width, id.size());
  }
  out += fmt::format("  {:<{}}  {:<5} {:>7} {:>8} {:>9} {:>10} {:>7} {:>8}\n", "backend", width,
                     "state", "active", "total", "refused", "bytes", "queued", "retries");
  for (auto& [id, total] : s.total) {
    auto get = [&](const std::map<std::string, uint64_t>& m) {
      auto i = m.find(id);
      return i == m.end() ? uint64_t{0} : i->second;
    };
    out += fmt::format("  {:<{}}  {:<5} {:>7} {:>8} {:>9} {:>10} {:>7} {:>8}\n",
                       protocols::escape_control(id), width, state_of(s, id), get(s.active), total,
                       get(s.refused), protocols::format_bytes(get(s.bytes)), get(s.queued),
                       get(s.retries));
  }
  out += fmt::format("  clients: started {}  active {}  completed {}  failed {}", s.clients_started,
                     s.clients_active, s.clients_completed, s.clients_failed);
  return out;
}

void live_view::erase_block() {
  if (terminal_ && block_lines_ > 0) {
    // Cursor to the start of the block's first line, then clear to the end of the screen.
    fmt::print("\x1b[{}F\x1b[J", block_lines_);
    block_lines_ = 0;
  }
}

void live_view::print_block() {
  if (!terminal_ || last_block_.empty()) {
    return;
  }
  fmt::print("{}\n", last_block_);
  block_lines_ = static_cast<int>(std::count(last_block_.begin(), last_block_.end(), '\n')) + 1;
}

}  // namespace l4sim::apps
