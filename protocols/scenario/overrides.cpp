#include "protocols/scenario/overrides.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "protocols/scenario/scenario_loader.hpp"
#include "protocols/scenario/scenario_yaml.hpp"

namespace l4sim::protocols {

parsed_override parse_override(const std::string& flag, const std::string& text) {
  parsed_override out;
  out.value.source = fmt::format("{} {}", flag, text);
  auto eq = text.find('=');
  if (eq == std::string::npos) {
    out.error =
        fmt::format("{}: expected KEY=VALUE (e.g. balancer.algorithm=lc)", out.value.source);
    return out;
  }
  auto key = text.substr(0, eq);
  out.value.value = text.substr(eq + 1);
  if (key.empty()) {
    out.error = fmt::format("{}: the key before '=' is empty", out.value.source);
    return out;
  }
  size_t start = 0;
  while (true) {
    auto dot = key.find('.', start);
    auto part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) {
      out.error =
          fmt::format("{}: \"{}\" has an empty part (keys are like backends.server-3.delay)",
                      out.value.source, key);
      out.value.path.clear();
      return out;
    }
    out.value.path.push_back(part);
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  return out;
}

std::string dotted(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& part : path) {
    out += out.empty() ? part : "." + part;
  }
  return out;
}

namespace detail {

namespace {

/// Returns the entry of list `seq` whose `id` is `key`, else the one at position `key`, else
/// an invalid node and the ids it has in `known`.
YAML::Node find_entry(const YAML::Node& seq, const std::string& key, std::string& known) {
  for (const auto& item : seq) {
    if (item.IsMap() && item["id"] && item["id"].IsScalar() && item["id"].Scalar() == key) {
      return item;
    }
  }
  if (!key.empty() && key.find_first_not_of("0123456789") == std::string::npos && key.size() < 6) {
    auto index = std::stoul(key);
    if (index < seq.size()) {
      return seq[index];
    }
  }
  std::vector<std::string> ids;
  for (const auto& item : seq) {
    if (item.IsMap() && item["id"] && item["id"].IsScalar()) {
      ids.push_back(item["id"].Scalar());
    }
  }
  known = ids.empty() ? fmt::format("positions 0 to {}", seq.size() == 0 ? 0 : seq.size() - 1)
                      : fmt::format("ids {} or positions 0 to {}", join(ids), seq.size() - 1);
  return YAML::Node{YAML::NodeType::Undefined};
}

}  // namespace

std::string apply_override(YAML::Node& root, const scenario_override& o) {
  YAML::Node value;
  try {
    value = YAML::Load(o.value);
  } catch (const YAML::Exception& e) {
    return fmt::format("the value is not YAML: {}", e.msg);
  }
  if (!root.IsMap()) {
    return "the scenario is not a map";
  }
  YAML::Node at = root;
  for (size_t i = 0; i < o.path.size(); ++i) {
    const auto& key = o.path[i];
    auto where = dotted({o.path.begin(), o.path.begin() + static_cast<long>(i)});
    bool last = i + 1 == o.path.size();
    if (at.IsSequence()) {
      std::string known;
      auto entry = find_entry(at, key, known);
      if (!entry.IsDefined()) {
        return fmt::format("{} has no entry \"{}\" ({})", where, key, known);
      }
      if (last) {
        return fmt::format("{}.{}: replacing a whole entry is not supported; set its keys", where,
                           key);
      }
      at.reset(entry);
      continue;
    }
    if (!at.IsMap()) {
      return fmt::format("{} is a single value, not a map with \"{}\"", where, key);
    }
    if (last) {
      at[key] = value;
      break;
    }
    if (!at[key] || at[key].IsNull()) {
      at[key] = YAML::Node{YAML::NodeType::Map};
    }
    YAML::Node next = at[key];
    at.reset(next);
  }
  return {};
}

load_result load_with_overrides(const YAML::Node& root, const std::vector<scenario_override>& sets,
                                const std::function<load_result(const YAML::Node&)>& read) {
  // The file on its own first: its errors are its own, whatever is overridden.
  auto base = read(root);
  if (!base.ok() || sets.empty()) {
    return base;
  }
  // Overrides apply in order; the tree after each prefix of them is kept to tell which
  // one an error comes from.
  std::vector<YAML::Node> prefixes;
  auto tree = YAML::Clone(root);
  load_result result;
  for (const auto& o : sets) {
    auto why = apply_override(tree, o);
    if (!why.empty()) {
      result.errors.push_back(load_error{o.source, 0, 0, why});
    }
    prefixes.push_back(YAML::Clone(tree));
  }
  if (!result.errors.empty()) {
    return result;
  }
  auto whole = read(tree);
  if (whole.ok()) {
    return whole;
  }
  std::vector<std::vector<std::string>> texts;
  for (const auto& prefix : prefixes) {
    texts.emplace_back();
    for (const auto& e : read(prefix).errors) {
      texts.back().push_back(e.to_string());
    }
  }
  for (const auto& e : whole.errors) {
    auto text = e.to_string();
    size_t culprit = sets.size() - 1;
    for (size_t k = 0; k < texts.size(); ++k) {
      if (std::find(texts[k].begin(), texts[k].end(), text) != texts[k].end()) {
        culprit = k;
        break;
      }
    }
    // No line: the position is in the overridden tree, not in any file.
    result.errors.push_back(load_error{sets[culprit].source, 0, 0, e.message});
  }
  return result;
}

}  // namespace detail

}  // namespace l4sim::protocols
