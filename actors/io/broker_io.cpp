#include "actors/io/broker_io.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <caf/io/broker.hpp>

#include "actors/io/net.hpp"
#include "protocols/errors.hpp"

namespace l4sim::actors {

namespace {

int native(caf::io::connection_handle hdl) {
  return static_cast<int>(hdl.id());
}

class live_io : public broker_io {
 public:
  explicit live_io(int listen_fd) : listen_fd_(listen_fd) {}

  void attach(caf::io::broker* self) override { self_ = self; }

  caf::io::accept_handle start_listening() override { return self_->add_doorman(listen_fd_); }

  caf::expected<caf::io::accept_handle> listen_again(const std::string& host,
                                                     uint16_t port) override {
    auto fd = open_listener(host, port);
    if (!fd) {
      return fd.error();
    }
    return self_->add_doorman(*fd);
  }

  void close(caf::io::accept_handle hdl) override { self_->close(hdl); }

  caf::expected<caf::io::connection_handle> adopt(dialed_socket& s) override {
    auto fd = s.release();
    if (fd < 0) {
      return caf::make_error(protocols::l4_errc::local_failure, "the dialer returned no socket");
    }
    return self_->add_scribe(fd);
  }

  void start_reading(caf::io::connection_handle hdl, size_t n) override {
    self_->configure_read(hdl, caf::io::receive_policy::at_most(n));
  }

  void send(caf::io::connection_handle hdl, const char* data, size_t n) override {
    self_->write(hdl, n, data);
    self_->flush(hdl);
  }

  void ack_writes(caf::io::connection_handle hdl) override { self_->ack_writes(hdl, true); }

  void close(caf::io::connection_handle hdl) override { self_->close(hdl); }

  void abort(caf::io::connection_handle hdl) override { shutdown_both(native(hdl)); }

  std::string peer(caf::io::connection_handle hdl) override { return peer_of(native(hdl)); }

  // After a RST the socket is in state CLOSE, after a FIN in CLOSE_WAIT. CAF still holds
  // the fd open while it tells the broker that the connection closed.
  bool was_reset(caf::io::connection_handle hdl) override {
    tcp_info info{};
    socklen_t len = sizeof(info);
    if (::getsockopt(native(hdl), IPPROTO_TCP, TCP_INFO, &info, &len) != 0) {
      return false;
    }
    return info.tcpi_state == TCP_CLOSE;
  }

 private:
  caf::io::broker* self_ = nullptr;
  int listen_fd_;
};

}  // namespace

std::unique_ptr<broker_io> make_live_io(int listen_fd) {
  return std::make_unique<live_io>(listen_fd);
}

}  // namespace l4sim::actors
