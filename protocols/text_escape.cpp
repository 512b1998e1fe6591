#include "protocols/text_escape.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace l4sim::protocols {

namespace {

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

/// Returns the length of the valid, printable UTF-8 sequence at `text[i]` (a byte >= 0x80),
/// or 0 if it is invalid, overlong, a surrogate, past U+10FFFF or a C1 control.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t n = 0;
  uint32_t cp = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    n = 2;
    cp = lead & 0x1fu;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    n = 3;
    cp = lead & 0x0fu;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 4;
    cp = lead & 0x07u;
  } else {
    return 0;
  }
  if (i + n > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0u) != 0x80u) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3fu);
  }
  static constexpr uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < smallest[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
      (cp >= 0x80 && cp <= 0x9f)) {
    return 0;
  }
  return n;
}

}  // namespace

bool is_safe_id(std::string_view text) {
  return id_problem(text).empty();
}

std::string id_problem(std::string_view text) {
  if (text.empty()) {
    return "is empty";
  }
  if (text.size() > max_id_length) {
    return fmt::format("is {} bytes long (at most {})", text.size(), max_id_length);
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!id_char(text[i])) {
      auto shown = escape_control(text.substr(i, 1));
      return fmt::format("contains '{}' at offset {}", shown, i);
    }
  }
  return {};
}

std::string escape_control(std::string_view text, bool keep_layout) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (keep_layout && (c == '\n' || c == '\t')) {
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (auto n = utf8_length(text, i); n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

std::string csv_field(std::string_view text) {
  auto clean = escape_control(text);
  if (clean.find_first_of(",\"\r\n") == std::string::npos) {
    return clean;
  }
  std::string out = "\"";
  for (char c : clean) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  out += '"';
  return out;
}

std::string gnuplot_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : escape_control(text)) {
    out += c;
    if (c == '\'') {
      out += '\'';
    }
  }
  out += '\'';
  return out;
}

}  // namespace l4sim::protocols
