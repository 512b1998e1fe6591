#include "actors/io/broker_base.hpp"

#include <caf/detail/sync_request_bouncer.hpp>

#include "actors/io/net.hpp"

namespace l4sim::actors {

bool broker_base::cleanup(caf::error&& reason, caf::execution_unit* host) {
  // What scheduled_actor::cleanup does for its mailbox, which CAF's broker cleanup skips.
  if (!mailbox().closed()) {
    mailbox().close();
    get_normal_queue().flush_cache();
    get_urgent_queue().flush_cache();
    caf::detail::sync_request_bouncer bounce{reason};
    while (mailbox().queue().new_round(1000, bounce).consumed_items > 0) {
    }
  }
  return caf::io::broker::cleanup(std::move(reason), host);
}

std::pair<std::string, uint16_t> broker_base::remote_endpoint(caf::io::connection_handle hdl) {
  auto addr = caf::io::broker::remote_addr(hdl);
  if (!addr.empty()) {
    return {std::move(addr), caf::io::broker::remote_port(hdl)};
  }
  return peer_endpoint(static_cast<int>(hdl.id()));
}

}  // namespace l4sim::actors
