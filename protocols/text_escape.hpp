#pragma once

// Text that came from outside (scenario files, ids, notes built from them) on its way to a
// terminal, a CSV file or a gnuplot script. Pure functions: nothing here reaches a shell,
// and nothing that passes through them can move the cursor, end a field or run a command.

#include <cstddef>
#include <string>
#include <string_view>

namespace l4sim::protocols {

/// The longest id (backend id, scenario name) a scenario may use.
constexpr std::size_t max_id_length = 64;

/// Returns whether `text` is a usable id: 1 to `max_id_length` letters, digits, `.`, `_`, `-`.
bool is_safe_id(std::string_view text);

/// Returns why `text` is not a usable id (e.g. "contains '`' at offset 2"), or "" if it is.
std::string id_problem(std::string_view text);

/// Replaces every byte a terminal could act on by `\xNN`: C0 controls, DEL, C1 controls
/// (also UTF-8 encoded) and bytes that are not valid UTF-8; printable UTF-8 stays. With
/// `keep_layout`, `\n` and `\t` stay as they are.
std::string escape_control(std::string_view text, bool keep_layout = false);

/// Returns `text` as one RFC 4180 field: as is, or in double quotes (with `"` doubled) when
/// it holds `,` or `"`. Control bytes are escaped first (`escape_control`), so a field never
/// spans lines.
std::string csv_field(std::string_view text);

/// Returns `text` as a gnuplot single-quoted string, quotes included: `'` doubled (gnuplot
/// does no backquote, macro or backslash processing inside single quotes), control bytes
/// escaped first so the string stays on its line.
std::string gnuplot_quoted(std::string_view text);

}  // namespace l4sim::protocols
