#include "protocols/line/line_codec.hpp"

#include <fmt/format.h>

namespace l4sim::protocols {

namespace {

/// Splits `line` into a verb and its argument when it starts with `verb` followed by the
/// end of the line or a space.
bool match_verb(std::string_view line, std::string_view verb, std::string& arg) {
  if (line.substr(0, verb.size()) != verb) {
    return false;
  }
  if (line.size() == verb.size()) {
    arg.clear();
    return true;
  }
  if (line[verb.size()] != ' ') {
    return false;
  }
  arg.assign(line.substr(verb.size() + 1));
  return true;
}

}  // namespace

command parse_command(std::string_view line) {
  command cmd;
  if (match_verb(line, "REQ", cmd.arg)) {
    cmd.kind = command_kind::req;
  } else if (match_verb(line, "PING", cmd.arg)) {
    cmd.kind = command_kind::ping;
  } else if (match_verb(line, "STREAM", cmd.arg)) {
    cmd.kind = command_kind::stream;
  } else if (match_verb(line, "SLOW", cmd.arg)) {
    cmd.kind = command_kind::slow;
  } else {
    cmd.kind = command_kind::unknown;
    cmd.arg.clear();
  }
  return cmd;
}

std::string reply_for(const command& cmd, std::string_view line) {
  switch (cmd.kind) {
    case command_kind::req:
    case command_kind::slow:
      return "ACK\n";
    case command_kind::ping:
      return cmd.arg.empty() ? std::string{"PONG\n"} : fmt::format("PONG {}\n", cmd.arg);
    case command_kind::stream:
      return "STREAM_ACK\n";
    case command_kind::unknown:
      break;
  }
  return fmt::format("ERR unknown command: \"{}\"\n", escape_line(line));
}

std::string too_long_reply(std::size_t max_line) {
  return fmt::format("ERR line too long (max {} bytes)\n", max_line);
}

std::string escape_line(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  for (unsigned char c : line) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

reply parse_reply(std::string_view line) {
  reply r;
  if (match_verb(line, "ACK", r.arg)) {
    r.kind = reply_kind::ack;
  } else if (match_verb(line, "PONG", r.arg)) {
    r.kind = reply_kind::pong;
  } else if (match_verb(line, "STREAM_ACK", r.arg)) {
    r.kind = reply_kind::stream_ack;
  } else if (match_verb(line, "ERR", r.arg)) {
    r.kind = reply_kind::err;
  } else {
    r.kind = reply_kind::unknown;
    r.arg.assign(line);
  }
  return r;
}

}  // namespace l4sim::protocols
