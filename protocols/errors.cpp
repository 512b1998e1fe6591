#include "protocols/errors.hpp"

#include <cerrno>

namespace l4sim::protocols {

std::string to_string(l4_errc x) {
  switch (x) {
    case l4_errc::no_healthy_backend:
      return "no_healthy_backend";
    case l4_errc::upstream_connect_failed:
      return "upstream_connect_failed";
    case l4_errc::upstream_timeout:
      return "upstream_timeout";
    case l4_errc::bind_failed:
      return "bind_failed";
    case l4_errc::bad_config:
      return "bad_config";
    case l4_errc::bad_scenario:
      return "bad_scenario";
    case l4_errc::not_listening:
      return "not_listening";
    case l4_errc::local_failure:
      return "local_failure";
    case l4_errc::queue_timeout:
      return "queue_timeout";
  }
  return "unknown_l4_error";
}

bool is_local_errno(int err) {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM || err == EADDRNOTAVAIL;
}

}  // namespace l4sim::protocols
