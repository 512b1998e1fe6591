#include "actors/io/system.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/message.hpp>

#include "protocols/errors.hpp"
#include "protocols/type_ids.hpp"

namespace l4sim::actors {

namespace {

std::string render_l4_error(uint8_t code, caf::atom_value, const caf::message& ctx) {
  auto text = protocols::to_string(static_cast<protocols::l4_errc>(code));
  if (!ctx.empty() && ctx.match_element<std::string>(0)) {
    text += ": ";
    text += ctx.get_as<std::string>(0);
  }
  return text;
}

}  // namespace

void configure_system(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::l4sim>();
  cfg.add_error_category(protocols::l4_error_category, render_l4_error);
  cfg.load<caf::io::middleman>();
  // halt() cannot stop a read loop already running; fewer reads per wake-up bound how far
  // a paused connection overshoots its high-water mark (4 x 64 KiB instead of 50 x).
  cfg.set("middleman.max-consecutive-reads", 4);
}

std::string_view to_string(scheduler_kind kind) {
  return kind == scheduler_kind::sharing ? "sharing" : "stealing";
}

std::optional<scheduler_kind> parse_scheduler_kind(std::string_view text) {
  if (text == "sharing") {
    return scheduler_kind::sharing;
  }
  if (text == "stealing") {
    return scheduler_kind::stealing;
  }
  return std::nullopt;
}

void widen_loop_pipes() {
  static std::mutex mtx;  // systems may start on several threads (listener_loops)
  std::lock_guard<std::mutex> guard{mtx};
  int max_size = 1 << 20;
  if (std::ifstream in{"/proc/sys/fs/pipe-max-size"}; in) {
    in >> max_size;
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{"/proc/self/fd", ec}) {
    int fd = -1;
    auto name = entry.path().filename().string();
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), fd);
    struct stat st {};
    if (err != std::errc{} || ::fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
      continue;
    }
    if (::fcntl(fd, F_GETPIPE_SZ) < max_size) {
      ::fcntl(fd, F_SETPIPE_SZ, max_size);  // best effort: a smaller pipe still works
    }
  }
}

void configure_scheduler(caf::actor_system_config& cfg, scheduler_kind kind) {
  cfg.set("scheduler.policy",
          kind == scheduler_kind::sharing ? caf::atom("sharing") : caf::atom("stealing"));
}

std::string describe(const caf::error& err) {
  if (!err) {
    return "no error";
  }
  if (err.category() == protocols::l4_error_category) {
    return render_l4_error(err.code(), err.category(), err.context());
  }
  return caf::to_string(err);
}

void log_line(std::string_view line) {
  static std::mutex mtx;
  std::lock_guard<std::mutex> guard{mtx};
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace l4sim::actors
