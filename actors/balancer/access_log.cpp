#include "actors/balancer/access_log.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/io/system.hpp"
#include "protocols/errors.hpp"
#include "protocols/text_escape.hpp"

namespace l4sim::actors {

namespace {

/// Past this many buffered bytes the log writes even while more records wait.
constexpr size_t batch_bytes = 64 * 1024;

int64_t ms_between(access_note::clock::time_point from, access_note::clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

std::string utc_time(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", text, ms);
}

struct access_log_state {
  std::string lb_id;
  std::FILE* file = nullptr;  // null: stdout
  std::shared_ptr<access_batch> batch;
  bool flush_scheduled = false;  // a flush_atom is on its way
  std::string pending;

  access_log_state() = default;
  access_log_state(const access_log_state&) = delete;
  access_log_state& operator=(const access_log_state&) = delete;

  ~access_log_state() {
    write_batch();  // what sessions left until now: no line is lost when the lb stops
    if (file != nullptr) {
      std::fclose(file);
    }
  }

  /// Formats and writes every record of the batch.
  void write_batch() {
    if (!batch) {
      return;
    }
    for (const auto& r : batch->take()) {
      pending += format_access_line(r, lb_id);
      pending += '\n';
      if (pending.size() >= batch_bytes) {
        flush();
      }
    }
    flush();
  }

  void flush() {
    if (pending.empty()) {
      return;
    }
    if (file == nullptr) {
      pending.pop_back();  // log_line adds the last newline
      log_line(pending);
    } else {
      std::fwrite(pending.data(), 1, pending.size(), file);
      std::fflush(file);
    }
    pending.clear();
  }

  static inline const char* name = "access_log";
};

using access_log_actor = caf::stateful_actor<access_log_state>;

caf::behavior access_log_impl(access_log_actor* self, std::FILE* file, std::string lb_id,
                              std::shared_ptr<access_batch> batch) {
  self->state.file = file;
  self->state.lb_id = std::move(lb_id);
  self->state.batch = std::move(batch);
  return {
      [self](caf::pending_atom) {
        auto& st = self->state;
        if (st.batch->size() >= access_batch::flush_records) {
          st.write_batch();  // a full batch goes now instead of growing until the timer
        } else if (!st.flush_scheduled) {
          // Let the batch fill for a while: under load one write for many lines, and one
          // wake-up of this thread per batch instead of per connection.
          st.flush_scheduled = true;
          self->delayed_send(self, access_flush_interval, caf::flush_atom_v);
        }
      },
      [self](caf::flush_atom) {
        self->state.flush_scheduled = false;
        self->state.write_batch();
      },
  };
}

}  // namespace

bool access_batch::add(access_record r) {
  std::lock_guard<std::mutex> lock{mtx_};
  records_.push_back(std::move(r));
  auto n = records_.size();
  return n == 1 || n % flush_records == 0;
}

std::vector<access_record> access_batch::take() {
  std::vector<access_record> taken;
  taken.reserve(last_taken_);  // outside the lock: the next batch gets this room
  {
    std::lock_guard<std::mutex> lock{mtx_};
    taken.swap(records_);
  }
  last_taken_ = taken.size();
  return taken;
}

size_t access_batch::size() const {
  std::lock_guard<std::mutex> lock{mtx_};
  return records_.size();
}

void access_log_handle::post(access_record r) const {
  if (batch->add(std::move(r))) {
    caf::anon_send(writer, caf::pending_atom_v);
  }
}

const char* to_code(termination t) {
  switch (t) {
    case termination::normal:
      return "--";
    case termination::client_left:
      return "CC";
    case termination::client_timeout:
      return "cD";
    case termination::server_timeout:
      return "sD";
    case termination::queue_timeout:
      return "sQ";
    case termination::no_backend:
    case termination::connect_failed:
      return "SC";
    case termination::connect_timeout:
      return "sC";
    case termination::killed:
      return "KD";
    case termination::local_shortage:
      return "RC";
  }
  return "??";
}

void access_note::accepted(std::string address, uint16_t port) {
  wall_ = std::chrono::system_clock::now();
  accepted_ = clock::now();
  address_ = std::move(address);
  port_ = port;
}

void access_note::ending(termination why) {
  if (!has_reason_) {
    has_reason_ = true;
    reason_ = why;
  }
}

void access_note::ending(idle_expiry expiry) {
  ending(expiry == idle_expiry::server ? termination::server_timeout : termination::client_timeout);
}

access_record access_note::finish(const std::string& backend, uint64_t bytes_in,
                                  uint64_t bytes_out) const {
  access_record r;
  r.accepted = wall_;
  r.client_address = address_;
  r.client_port = port_;
  r.bytes_in = bytes_in;
  r.bytes_out = bytes_out;
  r.retries = retries_;
  r.total_ms = ms_between(accepted_, clock::now());
  bool served = !backend.empty() && connected_ != clock::time_point{};
  if (served) {
    r.backend = backend;
    r.queue_ms = ms_between(accepted_, picked_);
    r.connect_ms = ms_between(picked_, connected_);
  } else if (picked_ != clock::time_point{}) {
    r.queue_ms = ms_between(accepted_, picked_);
  }
  r.end = has_reason_ ? reason_ : served ? termination::normal : termination::client_left;
  return r;
}

std::string format_access_line(const access_record& r, const std::string& lb_id) {
  auto client = r.client_address.find(':') == std::string::npos
                    ? fmt::format("{}:{}", r.client_address, r.client_port)
                    : fmt::format("[{}]:{}", r.client_address, r.client_port);
  // Names come from configuration (env, scenario, the admin API): never raw to a terminal.
  // A space inside one would shift the fields: escaped too.
  auto field = [](const std::string& text) {
    if (text.empty()) {
      return std::string{"-"};
    }
    std::string out;
    for (char c : protocols::escape_control(text)) {
      if (c == ' ') {
        out += "\\x20";
      } else {
        out += c;
      }
    }
    return out;
  };
  return fmt::format("{} {} {} {} {}/{}/{} in={} out={} {} retries={}", utc_time(r.accepted),
                     field(client), field(lb_id), field(r.backend), r.queue_ms, r.connect_ms,
                     r.total_ms, r.bytes_in, r.bytes_out, to_code(r.end), r.retries);
}

caf::expected<access_log_handle> spawn_access_log(caf::actor_system& sys, const std::string& target,
                                                  const std::string& lb_id) {
  std::FILE* file = nullptr;
  if (target != "stdout") {
    file = std::fopen(target.c_str(), "ae");
    if (file == nullptr) {
      return caf::make_error(protocols::l4_errc::bad_config,
                             fmt::format("access log \"{}\": {}", protocols::escape_control(target),
                                         std::strerror(errno)));
    }
  }
  // Detached: a write that blocks (a full pipe, a slow disk) holds only this thread.
  auto batch = std::make_shared<access_batch>();
  return access_log_handle{
      caf::actor{sys.spawn<caf::detached>(access_log_impl, file, lb_id, batch)}, batch};
}

}  // namespace l4sim::actors
