#pragma once

#include <cstdint>
#include <vector>

namespace l4sim::testing {

/// A listening socket on 127.0.0.1 whose accept queue is full and never drained, so the
/// kernel drops further SYNs: connects to it neither succeed nor fail until they time out.
class black_hole {
 public:
  black_hole();
  black_hole(const black_hole&) = delete;
  black_hole& operator=(const black_hole&) = delete;
  ~black_hole();

  /// Returns the port SYNs vanish on.
  uint16_t port() const { return port_; }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
};

}  // namespace l4sim::testing
