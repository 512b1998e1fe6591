#include "protocols/line/line_framer.hpp"

namespace l4sim::protocols {

void line_framer::feed(std::string_view bytes) {
  if (broken_) {
    return;
  }
  // Compact lazily so that feeding many small lines stays linear.
  if (head_ > 0 && head_ * 2 >= buf_.size()) {
    buf_.erase(0, head_);
    head_ = 0;
  }
  buf_.append(bytes.data(), bytes.size());
}

frame line_framer::next() {
  if (broken_) {
    return {frame_status::too_long, {}};
  }
  auto pos = buf_.find('\n', head_ + scan_);
  if (pos == std::string::npos) {
    scan_ = buf_.size() - head_;
    // The bound counts the line without its terminator, and a trailing '\r' may be the
    // first half of "\r\n": it counts only once the next byte shows it is not.
    auto counted = scan_ > 0 && buf_.back() == '\r' ? scan_ - 1 : scan_;
    if (counted > max_line_) {
      broken_ = true;
      return {frame_status::too_long, {}};
    }
    return {frame_status::need_more, {}};
  }
  auto end = pos;
  if (end > head_ && buf_[end - 1] == '\r') {
    --end;
  }
  if (end - head_ > max_line_) {
    broken_ = true;
    return {frame_status::too_long, {}};
  }
  frame result{frame_status::line, buf_.substr(head_, end - head_)};
  head_ = pos + 1;
  scan_ = 0;
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
  }
  return result;
}

std::optional<std::string> line_framer::take_partial() {
  if (broken_ || buffered() == 0) {
    return std::nullopt;
  }
  auto rest = buf_.substr(head_);
  buf_.clear();
  head_ = 0;
  scan_ = 0;
  return rest;
}

}  // namespace l4sim::protocols
