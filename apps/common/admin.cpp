#include "apps/common/admin.hpp"

#include <httplib.h>

#include <fmt/format.h>

#include "actors/io/net.hpp"
#include "actors/io/system.hpp"
#include "apps/common/control.hpp"

namespace l4sim::apps {

namespace {

/// Admin requests are small: a number, an algorithm name, a mix.
constexpr size_t max_body = 64 * 1024;

/// Threads that answer admin requests. Two: a scrape and a curl at once, no more (every
/// request waits on an actor for at most a few seconds, the machine is small).
constexpr size_t worker_threads = 2;

}  // namespace

admin_reply text_reply(int status, std::string body) {
  if (body.empty() || body.back() != '\n') {
    body += '\n';
  }
  return {status, std::move(body), "text/plain; charset=utf-8"};
}

admin_reply json_reply(std::string body) {
  return {200, std::move(body), "application/json"};
}

struct admin_server::impl {
  httplib::Server http;
};

admin_server::admin_server() : impl_(std::make_unique<impl>()) {
  // The default pool has at least 8 threads; an admin port needs few.
  impl_->http.new_task_queue = [] { return new httplib::ThreadPool(worker_threads); };
  impl_->http.set_payload_max_length(max_body);
  impl_->http.set_read_timeout(std::chrono::seconds{5});
  impl_->http.set_write_timeout(std::chrono::seconds{5});
  impl_->http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) {
      return;
    }
    auto text = res.status == 404   ? fmt::format("no such path: {}\n", req.path)
                : res.status == 413 ? fmt::format("body larger than {} bytes\n", max_body)
                                    : fmt::format("HTTP {}\n", res.status);
    res.set_content(text, "text/plain; charset=utf-8");
  });
}

admin_server::~admin_server() {
  stop();
}

void admin_server::route(const std::string& method, const std::string& path,
                         admin_handler handler) {
  route(method, path,
        admin_query_handler{
            [handler = std::move(handler)](const admin_params&, const std::string& body) {
              return handler(body);
            }});
}

void admin_server::route(const std::string& method, const std::string& path,
                         admin_query_handler handler) {
  bool first = routes_.count(path) == 0;
  routes_[path][method] = std::move(handler);
  if (!first) {
    return;
  }
  // Every method of a known path comes here, so that a wrong one gets 405 (httplib alone
  // would say 404). httplib matches patterns as regular expressions: escape the path.
  std::string pattern;
  for (char c : path) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-') {
      pattern += '\\';
    }
    pattern += c;
  }
  auto dispatch = [this, path](const httplib::Request& req, httplib::Response& res) {
    auto& methods = routes_.at(path);
    auto method = req.method == "HEAD" ? std::string{"GET"} : req.method;
    auto i = methods.find(method);
    admin_reply reply;
    if (i == methods.end()) {
      std::string allowed;
      for (auto& [name, fn] : methods) {
        allowed += allowed.empty() ? name : ", " + name;
      }
      res.set_header("Allow", allowed);
      reply = text_reply(405, fmt::format("{} takes {}, not {}", path, allowed, req.method));
    } else {
      try {
        reply = i->second(req.params, req.body);
      } catch (const std::exception& e) {
        reply = text_reply(500, e.what());
      }
    }
    res.status = reply.status;
    res.set_content(reply.body, reply.type.c_str());
  };
  auto& http = impl_->http;
  http.Get(pattern, dispatch);
  http.Post(pattern, dispatch);
  http.Put(pattern, dispatch);
  http.Patch(pattern, dispatch);
  http.Delete(pattern, dispatch);
}

std::optional<uint16_t> admin_server::start(const protocols::endpoint& where, std::string& error) {
  auto& http = impl_->http;
  int port = where.port == 0 ? http.bind_to_any_port(where.host)
                             : (http.bind_to_port(where.host, where.port) ? where.port : -1);
  if (port <= 0) {
    error = fmt::format("cannot listen on {}:{}: {}", where.host, where.port,
                        errno != 0 ? std::strerror(errno) : "bind failed");
    return std::nullopt;
  }
  thread_ = std::thread{[&http] { http.listen_after_bind(); }};
  return static_cast<uint16_t>(port);
}

void admin_server::stop() {
  if (thread_.joinable()) {
    impl_->http.stop();
    thread_.join();
  }
}

void add_admin_option(env_cli& cli, const std::string& prefix) {
  cli.option("--admin", prefix + "_ADMIN_PORT",
             "admin HTTP port ([host:]port, loopback unless a host is given, 0 picks one): "
             "/metrics and the admin API");
}

std::optional<protocols::endpoint> read_admin_option(const env_cli& cli,
                                                     const std::string& prefix) {
  auto var = prefix + "_ADMIN_PORT";
  auto where = cli.control_endpoint(var);
  if (where) {
    if (auto address = actors::resolve_host(where->host); !address) {
      cli.fail(var, actors::describe(address.error()));
    }
  }
  return where;
}

std::optional<protocols::endpoint> parse_admin_endpoint(const std::string& text) {
  env_cli cli{"admin", ""};
  cli.option("--admin", "L4SIM_ADMIN_ENDPOINT", "");
  try {
    cli.parse_env({{"L4SIM_ADMIN_ENDPOINT", text}});
    auto where = cli.control_endpoint("L4SIM_ADMIN_ENDPOINT");
    if (where && actors::resolve_host(where->host)) {
      return where;
    }
  } catch (const config_error&) {
  }
  return std::nullopt;
}

std::optional<uint16_t> serve_admin(admin_server& server,
                                    const std::optional<protocols::endpoint>& where,
                                    const std::string& program, const std::string& id,
                                    const std::string& prefix) {
  if (!where) {
    return uint16_t{0};
  }
  std::string error;
  auto port = server.start(*where, error);
  if (!port) {
    fmt::print(stderr, "{}: [{}] {}_ADMIN_PORT: {}\n", program, id, prefix, error);
    return std::nullopt;
  }
  auto how = is_loopback(where->host)
                 ? "loopback only"
                 : "INSECURE: anyone who reaches it can reconfigure this service";
  actors::log_line(fmt::format("[{}] admin on http://{}:{} ({})", id, where->host, *port, how));
  return port;
}

}  // namespace l4sim::apps
