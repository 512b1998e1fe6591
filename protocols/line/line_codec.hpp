#pragma once

#include <string>
#include <string_view>

namespace l4sim::protocols {

/// The request verbs of the client↔server line protocol.
enum class command_kind { req, ping, stream, slow, unknown };

/// A request line split into its verb and the rest of the line.
struct command {
  command_kind kind = command_kind::unknown;
  std::string arg;  ///< text after the verb and one space, empty if none
};

/// Parses one request line (terminator already removed). Verbs are case-sensitive.
command parse_command(std::string_view line);

/// Returns the reply line (with its `\n`) the backend sends for `line`.
std::string reply_for(const command& cmd, std::string_view line);

/// Returns the `ERR` line sent before closing a connection whose line passed `max_line`.
std::string too_long_reply(std::size_t max_line);

/// Replaces control and non-ASCII bytes by `\xNN` (and `"`, `\` by escapes) so any line
/// can be quoted inside one reply line.
std::string escape_line(std::string_view line);

/// The reply kinds a client can receive.
enum class reply_kind { ack, pong, stream_ack, err, unknown };

/// A reply line split into its kind and the rest.
struct reply {
  reply_kind kind = reply_kind::unknown;
  std::string arg;
};

/// Parses one reply line (terminator already removed).
reply parse_reply(std::string_view line);

}  // namespace l4sim::protocols
