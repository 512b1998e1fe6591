#include "actors/backend/reply_order.hpp"

namespace l4sim::actors {

using protocols::command_kind;

reply_order::decision reply_order::on_request(command_kind kind, std::string text,
                                              caf::timespan delay, caf::timespan hang) {
  caf::timespan hold = kind == command_kind::stream ? caf::timespan{0} : delay;
  if (!replied_) {
    replied_ = true;
    hold += hang;
  }
  decision d;
  // STREAM_ACK is never delayed, so it may overtake held replies; the rest keep order.
  if (hold.count() == 0 && (queue_.empty() || kind == command_kind::stream)) {
    d.send_now.push_back(std::move(text));
    return d;
  }
  auto seq = next_seq_++;
  queue_.push_back({seq, std::move(text), hold.count() == 0});
  if (hold.count() > 0) {
    d.hold_seq = seq;
    d.hold = hold;
  } else {
    d.send_now = take_ready();
  }
  return d;
}

std::vector<std::string> reply_order::on_due(uint64_t seq) {
  for (auto& p : queue_) {
    if (p.seq == seq) {
      p.ready = true;
      break;
    }
  }
  return take_ready();
}

std::vector<std::string> reply_order::take_ready() {
  std::vector<std::string> out;
  while (!queue_.empty() && queue_.front().ready) {
    out.push_back(std::move(queue_.front().text));
    queue_.pop_front();
  }
  return out;
}

}  // namespace l4sim::actors
