#include "apps/sim/sweep_mode.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "protocols/text_escape.hpp"

namespace l4sim::apps {

namespace fs = std::filesystem;

std::string mode_name(const sweep_spec& spec) {
  return spec.live ? "live" : "virtual";
}

std::string mode_text(const sweep_spec& spec) {
  return spec.live ? fmt::format("live, time scale {}", spec.time_scale) : "virtual time";
}

std::string choose_mode(bool live, bool virtual_time, double time_scale, bool default_live,
                        double default_scale, sweep_spec& spec) {
  if (virtual_time && (live || time_scale != 0)) {
    return live ? "--virtual and --live contradict each other"
                : "--time-scale is for live runs (it implies --live), not with --virtual";
  }
  if (time_scale != 0 && (!(time_scale > 0) || time_scale > 100)) {
    return fmt::format("--time-scale: {} is not in (0, 100]", time_scale);
  }
  spec.live = virtual_time ? false : live || time_scale != 0 || default_live;
  spec.time_scale = time_scale != 0 ? time_scale : default_scale;
  return {};
}

std::string mode_conflict(const sweep_spec& spec) {
  fs::path out{spec.out};
  std::error_code ec;
  std::string made;
  if (fs::exists(out / "sweep.json", ec)) {
    try {
      std::ifstream in{out / "sweep.json", std::ios::binary};
      std::stringstream text;
      text << in.rdbuf();
      made = nlohmann::json::parse(text.str()).value("mode", "");
    } catch (const std::exception&) {
      made = "";
    }
    if (made != "live" && made != "virtual") {
      return fmt::format("{}/sweep.json does not say live or virtual; use another --out or --fresh",
                         protocols::escape_control(spec.out));
    }
  } else {
    for (const auto& e : fs::directory_iterator{out / "runs", ec}) {
      if (e.path().filename().string().rfind(".", 0) != 0) {
        made = "live";
        break;
      }
    }
  }
  if (made.empty() || made == mode_name(spec)) {
    return {};
  }
  return fmt::format(
      "{} holds runs played {}, this sweep plays them {}: one table does not mix virtual and "
      "live runs; use another --out, --fresh to replace them, or {}",
      protocols::escape_control(spec.out), made, mode_name(spec),
      made == "live" ? "--live" : "--virtual");
}

bool record_mode(const sweep_spec& spec) {
  auto path = fs::path{spec.out} / "sweep.json";
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out << nlohmann::json{{"mode", mode_name(spec)}}.dump() << "\n";
    if (!out) {
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec;
}

}  // namespace l4sim::apps
