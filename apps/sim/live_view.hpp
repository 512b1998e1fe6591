#pragma once

#include <cstdio>
#include <string>
#include <utility>

#include "actors/director/director.hpp"

namespace l4sim::apps {

/// How much `sim run` prints while a scenario plays.
enum class view_mode {
  live,   ///< a status block redrawn in place on a terminal, plain lines when piped
  quiet,  ///< nothing until the final table
  json,   ///< nothing but the report as JSON at the end
};

/// Renders the director's notes and frames for a person watching: on a terminal a status
/// block redrawn in place with events scrolling above it; piped, one line per event and
/// one status line per scenario second.
class live_view {
 public:
  live_view(std::string title, protocols::duration length, double time_scale, view_mode mode);

  /// Names the clock in the status block, e.g. "virtual, pace 1" (default: the time scale).
  void set_clock(std::string label) { clock_ = std::move(label); }

  /// Shows a timeline event or health transition.
  void on_note(const actors::director_note& n);

  /// Shows the latest counters.
  void on_frame(const actors::stats_frame& f);

  /// Removes the status block before the final output.
  void close();

 private:
  std::string block(const actors::stats_frame& f) const;
  static const char* state_of(const protocols::run_record::sample& s, const std::string& id);
  void erase_block();
  void print_block();

  std::string title_;
  protocols::duration length_;
  double time_scale_;
  std::string clock_;
  view_mode mode_;
  bool terminal_;
  int block_lines_ = 0;
  std::string last_block_;
  int64_t last_second_ = -1;
};

}  // namespace l4sim::apps
