#include "protocols/backend_list.hpp"

#include <map>

#include <fmt/format.h>

namespace l4sim::protocols {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool numeric_host(const std::string& host) {
  return host.find(':') != std::string::npos ||
         host.find_first_not_of("0123456789.") == std::string::npos;
}

/// Reads `key=value` options after the endpoint: `weight` and `maxconn`, each at most once.
bool read_options(std::string_view rest, backend_entry& out, std::string& why) {
  bool have_weight = false;
  bool have_maxconn = false;
  while (!(rest = trim(rest)).empty()) {
    auto space = rest.find_first_of(" \t");
    auto option = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
    auto eq = option.find('=');
    auto key = option.substr(0, eq);
    auto value = eq == std::string_view::npos ? std::string_view{} : option.substr(eq + 1);
    if ((key == "weight" && have_weight) || (key == "maxconn" && have_maxconn)) {
      why = fmt::format("option \"{}\" given twice", key);
      return false;
    }
    if (key == "weight") {
      have_weight = true;
      auto w = parse_uint(value, max_backend_weight);
      if (!w || *w == 0) {
        why =
            fmt::format("weight \"{}\" is not a whole number in 1..{}", value, max_backend_weight);
        return false;
      }
      out.weight = static_cast<uint32_t>(*w);
    } else if (key == "maxconn") {
      have_maxconn = true;
      auto m = parse_uint(value, max_backend_conns);
      if (!m) {
        why = fmt::format("maxconn \"{}\" is not a whole number in 0..{} (0 = no cap)", value,
                          max_backend_conns);
        return false;
      }
      out.max_conns = static_cast<uint32_t>(*m);
    } else {
      why = fmt::format("unknown option \"{}\" (known: weight=N, maxconn=N)", option);
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::vector<backend_entry>> parse_backend_list(std::string_view text,
                                                             std::string& why) {
  std::vector<backend_entry> result;
  std::vector<bool> named;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto space = item.find_first_of(" \t");
    auto head = item.substr(0, space);
    backend_entry entry;
    auto eq = head.find('=');
    auto ep = parse_endpoint(eq == std::string_view::npos ? head : head.substr(eq + 1));
    if (!ep || eq == 0) {
      why = fmt::format("\"{}\" is not [name=]host:port[ weight=N][ maxconn=N]", item);
      return std::nullopt;
    }
    entry.where = *ep;
    if (eq != std::string_view::npos) {
      entry.name.assign(head.substr(0, eq));
    }
    if (space != std::string_view::npos && !read_options(item.substr(space), entry, why)) {
      why = fmt::format("\"{}\": {}", item, why);
      return std::nullopt;
    }
    named.push_back(!entry.name.empty());
    result.push_back(std::move(entry));
  }
  if (result.empty()) {
    why = "needs at least one host:port";
    return std::nullopt;
  }
  // A host names its entry only while no other entry would take the same name.
  std::map<std::string, int> claims;
  for (size_t i = 0; i < result.size(); ++i) {
    claims[named[i] ? result[i].name : result[i].where.host]++;
  }
  for (size_t i = 0; i < result.size(); ++i) {
    if (named[i]) {
      continue;
    }
    auto& e = result[i];
    bool unique = claims[e.where.host] == 1 && !numeric_host(e.where.host);
    e.name = unique ? e.where.host : to_string(e.where);
  }
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < result.size(); ++i) {
    if (!seen.emplace(result[i].name, i).second) {
      why = fmt::format(
          "two backends are named \"{}\" (list an endpoint once, and give "
          "distinct names)",
          result[i].name);
      return std::nullopt;
    }
  }
  return result;
}

std::string format_backend_list(const std::vector<backend_entry>& entries) {
  std::string text;
  for (auto& e : entries) {
    text += fmt::format("{}{}={}", text.empty() ? "" : ",", e.name, to_string(e.where));
    if (e.weight != 1) {
      text += fmt::format(" weight={}", e.weight);
    }
    if (e.max_conns != 0) {
      text += fmt::format(" maxconn={}", e.max_conns);
    }
  }
  return text;
}

}  // namespace l4sim::protocols
