#include "actors/io/bounded_middleman.hpp"

#include <sys/socket.h>

#include <caf/actor_system.hpp>
#include <caf/io/basp/header.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor_impl.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/scribe_impl.hpp>

namespace l4sim::actors {

namespace {

namespace io = caf::io;
namespace net = caf::io::network;

/// CAF's TCP connection, with reads capped at `max_read`.
class bounded_scribe : public net::scribe_impl {
 public:
  bounded_scribe(net::default_multiplexer& mx, net::native_socket fd, size_t max_read)
      : net::scribe_impl(mx, fd), max_read_(max_read) {
    net::keepalive(fd, true);
  }

  void configure_read(io::receive_policy::config config) override {
    if (config.second > max_read_) {
      // Never allocate what the peer claims: ask for a header's worth and end the
      // connection, whose next read then reports the close to the broker as usual.
      ::shutdown(stream_.fd(), SHUT_RDWR);
      config.second = io::basp::header_size;
    }
    net::scribe_impl::configure_read(config);
  }

 private:
  size_t max_read_;
};

/// CAF's TCP acceptor, handing out bounded connections.
class bounded_doorman : public net::doorman_impl {
 public:
  bounded_doorman(net::default_multiplexer& mx, net::native_socket fd, size_t max_read)
      : net::doorman_impl(mx, fd), max_read_(max_read) {}

  bool new_connection() override {
    if (detached()) {
      return false;
    }
    auto& mx = acceptor_.backend();
    auto scribe = caf::make_counted<bounded_scribe>(mx, acceptor_.accepted_socket(), max_read_);
    auto hdl = scribe->hdl();
    parent()->add_scribe(std::move(scribe));
    return doorman::new_connection(&mx, hdl);
  }

 private:
  size_t max_read_;
};

/// CAF's middleman actor with bounded acceptors and connections.
class bounded_middleman_impl : public io::middleman_actor_impl {
 public:
  bounded_middleman_impl(caf::actor_config& cfg, caf::actor broker, size_t max_read)
      : io::middleman_actor_impl(cfg, std::move(broker)), max_read_(max_read) {}

  const char* name() const override { return "l4sim.bounded_middleman"; }

 protected:
  caf::expected<io::scribe_ptr> connect(const std::string& host, uint16_t port) override {
    auto fd = net::new_tcp_connection(host, port);
    if (!fd) {
      return std::move(fd.error());
    }
    return caf::make_counted<bounded_scribe>(mx(), *fd, max_read_);
  }

  caf::expected<io::doorman_ptr> open(uint16_t port, const char* addr, bool reuse) override {
    auto fd = net::new_tcp_acceptor_impl(port, addr, reuse);
    if (!fd) {
      return std::move(fd.error());
    }
    return caf::make_counted<bounded_doorman>(mx(), *fd, max_read_);
  }

 private:
  net::default_multiplexer& mx() {
    return static_cast<net::default_multiplexer&>(system().middleman().backend());
  }

  size_t max_read_;
};

}  // namespace

caf::io::middleman_actor spawn_bounded_middleman(caf::actor_system& sys, size_t max_read) {
  auto broker = sys.middleman().named_broker<io::basp_broker>(caf::atom("BASP"));
  // Detached like the middleman's own: connect() blocks in ::connect().
  return sys.spawn<bounded_middleman_impl, caf::detached + caf::hidden>(std::move(broker),
                                                                        max_read);
}

}  // namespace l4sim::actors
