#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace l4sim::protocols {

/// What `line_framer::next` found in the bytes fed so far.
enum class frame_status {
  line,       ///< a complete line, without its terminator
  need_more,  ///< no complete line buffered yet
  too_long,   ///< the current line passed the bound; the stream is unusable from here
};

/// One result of `line_framer::next`.
struct frame {
  frame_status status = frame_status::need_more;
  std::string line;
};

/// Splits a byte stream into newline-terminated lines, fragment by fragment.
///
/// Pure and incremental: feed whatever arrived, then call `next()` until it says
/// `need_more`. Lines end at `\n`; one `\r` right before it is dropped. A line longer than
/// `max_line` bytes puts the framer in the `too_long` state for good. The bound counts the
/// line without its terminator (`\n` or `\r\n`), whichever reads split it: a line of exactly
/// `max_line` bytes is accepted with either terminator, one byte more is refused.
class line_framer {
 public:
  /// Default bound on one line, in bytes.
  static constexpr std::size_t default_max_line = 4096;

  /// Creates a framer that rejects lines longer than `max_line` bytes.
  explicit line_framer(std::size_t max_line = default_max_line) : max_line_(max_line) {}

  /// Appends a fragment of the stream.
  void feed(std::string_view bytes);

  /// Returns the next complete line, `need_more`, or `too_long`.
  frame next();

  /// Returns the bytes of an unterminated line left at end of stream, if any.
  std::optional<std::string> take_partial();

  /// Returns how many bytes are buffered and not yet returned.
  std::size_t buffered() const { return buf_.size() - head_; }

 private:
  std::size_t max_line_;
  std::string buf_;
  std::size_t head_ = 0;  // start of the first unreturned byte
  std::size_t scan_ = 0;  // bytes after head_ already known to hold no '\n'
  bool broken_ = false;
};

}  // namespace l4sim::protocols
