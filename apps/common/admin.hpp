#pragma once

// The admin port: a small HTTP server (Debian's cpp-httplib) beside a service, for
// Prometheus scrapes (`GET /metrics`) and for people with curl (`POST /delay -d 500`). It
// runs on its own threads and reaches the actors only by messages with a timeout, so a
// slow or hostile HTTP peer never blocks CAF's I/O loop. Routes are registered before
// start(); a path it does not know gets 404, a known path with another method 405.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "apps/common/env_cli.hpp"
#include "protocols/units.hpp"

namespace l4sim::apps {

/// What an admin route answers.
struct admin_reply {
  int status = 200;
  std::string body;
  std::string type = "text/plain; charset=utf-8";
};

/// Returns a plain-text reply; a body without a final newline gets one.
admin_reply text_reply(int status, std::string body);

/// Returns a JSON reply.
admin_reply json_reply(std::string body);

/// Answers one request; gets the request body.
using admin_handler = std::function<admin_reply(const std::string& body)>;

/// The query parameters of a request (`?seconds=5`), name -> value.
using admin_params = std::multimap<std::string, std::string>;

/// Answers one request; gets its query parameters and body.
using admin_query_handler =
    std::function<admin_reply(const admin_params& params, const std::string& body)>;

/// An HTTP server on its own threads, with a fixed set of routes.
class admin_server {
 public:
  admin_server();
  ~admin_server();
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  /// Adds `method path` (method: GET or POST); call before start().
  void route(const std::string& method, const std::string& path, admin_handler handler);

  /// Adds `method path` whose handler reads the query parameters too; call before start().
  void route(const std::string& method, const std::string& path, admin_query_handler handler);

  /// Binds `where` (port 0 picks one) and serves on a thread of its own; returns the bound
  /// port, or nothing with the reason in `error`.
  std::optional<uint16_t> start(const protocols::endpoint& where, std::string& error);

  /// Stops serving and joins the threads; start() is not called again after it.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::map<std::string, std::map<std::string, admin_query_handler>> routes_;  // path -> method
  std::thread thread_;
};

/// Declares `--admin`, bound to PREFIX_ADMIN_PORT: `[host:]port` of the admin HTTP port,
/// loopback unless a host is given, 0 picks a port, unset: none.
void add_admin_option(env_cli& cli, const std::string& prefix);

/// Reads PREFIX_ADMIN_PORT; nothing when unset. Throws a config_error naming it.
std::optional<protocols::endpoint> read_admin_option(const env_cli& cli, const std::string& prefix);

/// Parses `[host:]port` as an admin address (127.0.0.1 when no host, port 0 picks one);
/// nothing when malformed.
std::optional<protocols::endpoint> parse_admin_endpoint(const std::string& text);

/// Starts `server` on `where` when it names an endpoint and logs `[id] admin on host:port`.
/// Returns the bound port (0 when no admin port was asked for); on failure prints why,
/// naming PREFIX_ADMIN_PORT, and returns nothing.
std::optional<uint16_t> serve_admin(admin_server& server,
                                    const std::optional<protocols::endpoint>& where,
                                    const std::string& program, const std::string& id,
                                    const std::string& prefix);

}  // namespace l4sim::apps
