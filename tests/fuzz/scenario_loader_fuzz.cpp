// libFuzzer target: the scenario loader over arbitrary text. It must never crash or throw;
// it loads if and only if it reports no error; errors carry no raw control byte; a loaded
// scenario holds only safe ids, fits its own duration and can be judged on any record.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "protocols/scenario/expectations.hpp"
#include "protocols/scenario/scenario_loader.hpp"
#include "protocols/text_escape.hpp"

using namespace l4sim::protocols;

namespace {

void require(bool ok) {
  if (!ok) {
    std::abort();
  }
}

bool has_control(const std::string& text) {
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return true;
    }
  }
  return false;
}

/// A small record with samples, health changes and client outcomes for every backend.
run_record record_for(const scenario& scn) {
  run_record r;
  r.ended = scn.length;
  for (int i = 0; i <= 4; ++i) {
    run_record::sample s;
    s.at = scn.length * i / 4;
    for (const auto& b : scn.backends) {
      s.total[b.id] = static_cast<uint64_t>(i * 3);
      s.refused[b.id] = static_cast<uint64_t>(i);
    }
    r.samples.push_back(s);
  }
  for (const auto& b : scn.backends) {
    r.health.push_back({scn.length / 2, b.id, false});
  }
  r.clients["real"].started = 10;
  r.clients["real"].failed["reset"] = 1;
  r.clients["real"].latency[99] = std::chrono::milliseconds{5};
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  auto loaded = load_scenario_text(text, "fuzz.yaml");
  require(loaded.ok() == loaded.errors.empty());
  for (const auto& error : loaded.errors) {
    require(!has_control(error.to_string()));
  }
  if (!loaded.ok()) {
    return 0;
  }
  const auto& scn = *loaded.value;
  require(is_safe_id(scn.name));
  for (const auto& b : scn.backends) {
    require(is_safe_id(b.id));
  }
  for (const auto& event : scn.timeline) {
    require(event.at <= scn.length);
    if (event.kind == event_kind::add_backend) {
      require(is_safe_id(event.new_backend.id));
    }
  }
  require(with_length(scn, scn.length, "fuzz").ok());
  auto verdicts = check_all(scn, record_for(scn));
  require(verdicts.size() == scn.expect.size());
  (void)check_all(scn, run_record{});
  return 0;
}
