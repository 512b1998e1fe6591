#pragma once

// LB_BACKENDS, the balancer's backend list as the original tool wrote it, plus names and
// per-backend options: `[name=]host:port[ weight=N][ maxconn=N]`, comma-separated. Pure: no
// CAF, no name resolution.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/units.hpp"

namespace l4sim::protocols {

/// One backend entry of the list, named.
struct backend_entry {
  std::string name;  ///< as written, or derived (see parse_backend_list)
  endpoint where;
  uint32_t weight = 1;     ///< 1..max_backend_weight
  uint32_t max_conns = 0;  ///< `maxconn=N`: proxied connections at most; 0 = no cap
};

inline bool operator==(const backend_entry& a, const backend_entry& b) {
  return a.name == b.name && a.where == b.where && a.weight == b.weight &&
         a.max_conns == b.max_conns;
}

/// The largest weight an entry may have (HAProxy allows 256; we allow more headroom).
inline constexpr uint32_t max_backend_weight = 1000;

/// The largest `maxconn` an entry may have.
inline constexpr uint32_t max_backend_conns = 1'000'000;

/// Parses a comma-separated `[name=]host:port[ weight=N][ maxconn=N]` list (options after
/// spaces, each at most once; `maxconn=0` = no cap). An unnamed entry is named
/// after its host while no other entry would have that name (`server-1:8080` is
/// `server-1`), otherwise after `host:port` (so `localhost:8080,localhost:8081` gives
/// `localhost:8080` and `localhost:8081`; numeric hosts always take `host:port`). Returns
/// nothing on a malformed entry, an unknown or repeated option, a weight outside
/// 1..max_backend_weight, an empty list, or two entries that end up with the same name (the
/// same endpoint listed twice, or a name written twice), with the reason, naming the
/// entry, in `why`.
std::optional<std::vector<backend_entry>> parse_backend_list(std::string_view text,
                                                             std::string& why);

/// Renders a list that parse_backend_list reads back as the same entries.
std::string format_backend_list(const std::vector<backend_entry>& entries);

}  // namespace l4sim::protocols
