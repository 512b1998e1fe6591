#include "actors/balancer/session_flow.hpp"

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <catch2/catch.hpp>

#include "protocols/balancer_messages.hpp"
#include "protocols/errors.hpp"

// The session's decisions on CAF's deterministic scheduler: a real flow in a real actor,
// talking to a fake picker, dialer and access log, over a transport that moves no bytes.

using namespace l4sim;
using namespace l4sim::actors;
using protocols::l4_errc;

namespace {

/// What the fakes do and what they saw.
struct world {
  std::deque<std::string> backends{"a", "b", "c"};  // the picker's next picks; none: no backend
  std::deque<std::string> dials;  // the dialer's outcomes: ok, refused, timeout, local, leave
  int proxy_failures = 0;         // backends that fail before their PROXY header
  std::vector<std::string> picker_log;
  std::vector<access_record> records;
  std::string attached;  // the backend connection the transport relays to
  bool client_gone = false;
  bool client_closed = false;
  bool quit = false;
};

caf::behavior fake_picker(caf::event_based_actor*, std::shared_ptr<world> w) {
  auto note = [w](std::string line) { w->picker_log.push_back(std::move(line)); };
  return {
      [=](pick_atom, const std::vector<std::string>& tried,
          const std::string&) -> caf::result<protocols::backend_pick> {
        std::string line = "pick";
        for (auto& id : tried) {
          line += " " + id;
        }
        note(line);
        if (w->backends.empty()) {
          return caf::make_error(l4_errc::no_healthy_backend);
        }
        protocols::backend_pick pick{w->backends.front(), "127.0.0.1", 9};
        w->backends.pop_front();
        return pick;
      },
      [=](opened_atom, const std::string& id) { note("opened " + id); },
      [=](failed_atom, const std::string& id) { note("failed " + id); },
      [=](retry_atom, const std::string& id) { note("retry " + id); },
      [=](caf::close_atom, const std::string& id) { note("close " + id); },
      [=](const protocols::session_finished& f) {
        note("finished " + (f.backend_id.empty() ? "-" : f.backend_id) + " " +
             std::to_string(f.bytes_in) + "/" + std::to_string(f.bytes_out));
      },
  };
}

caf::behavior fake_dialer(caf::event_based_actor*, std::shared_ptr<world> w) {
  return {
      [=](caf::connect_atom, const std::string&, uint16_t,
          caf::timespan) -> caf::result<dialed_socket> {
        if (w->dials.empty()) {
          return caf::make_error(l4_errc::bad_config);  // more dials than the test planned
        }
        auto outcome = w->dials.front();
        w->dials.pop_front();
        if (outcome == "refused") {
          return caf::make_error(l4_errc::upstream_connect_failed);
        }
        if (outcome == "timeout") {
          return caf::make_error(l4_errc::upstream_timeout);
        }
        if (outcome == "local") {
          return caf::make_error(l4_errc::local_failure);
        }
        if (outcome == "leave") {
          w->client_gone = true;  // the client leaves while its connect is in flight
        }
        return dialed_socket::virtual_connection(42, [](uint64_t) {});
      },
  };
}

/// Takes the batch as soon as it is told records wait (the real writer waits a while).
caf::behavior fake_access_log(caf::event_based_actor*, std::shared_ptr<world> w,
                              std::shared_ptr<access_batch> batch) {
  return {
      [=](caf::pending_atom) {
        for (auto& r : batch->take()) {
          w->records.push_back(std::move(r));
        }
      },
  };
}

/// A session whose transport moves no bytes: 10 up, 20 down once a backend is attached.
class test_session : public caf::event_based_actor, private session_transport {
 public:
  test_session(caf::actor_config& acfg, session_deps deps, std::shared_ptr<world> w)
      : caf::event_based_actor(acfg), w_(std::move(w)), flow_(this, *this, std::move(deps), 7) {}

  caf::behavior make_behavior() override {
    flow_.accepted("127.0.0.9", 40000);
    flow_.request_pick();
    return flow_.handlers();
  }

 private:
  void on_exit() override {
    w_->quit = true;
    flow_.release();
  }

  bool finished() const override { return w_->client_gone || aborted_; }
  void hold_client() override {}
  uint64_t buffered() const override { return 0; }
  session_activity activity() const override { return {}; }
  void abort() override { aborted_ = true; }
  bool prepare_backend(dialed_socket&) override { return w_->proxy_failures-- <= 0; }
  void attach_backend(dialed_socket sock) override {
    w_->attached = std::to_string(sock.release_virtual());
  }
  void close_client() override { w_->client_closed = true; }
  uint64_t bytes_up() const override { return w_->attached.empty() ? 0 : 10; }
  uint64_t bytes_down() const override { return w_->attached.empty() ? 0 : 20; }
  bool backend_reset() const override { return false; }

  std::shared_ptr<world> w_;
  bool aborted_ = false;
  session_flow<caf::event_based_actor> flow_;
};

/// One session on the deterministic scheduler, with its fakes.
struct flow_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<world> w = std::make_shared<world>();
  std::vector<caf::actor> fakes;
  caf::actor session;

  flow_fixture() {
    cfg.add_message_types<caf::id_block::l4sim>();
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }

  ~flow_fixture() {
    for (auto& a : fakes) {
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    }
    if (session) {
      caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
    }
    sched->run();
  }

  /// Starts the session with `retries` further backends after a failed connect.
  void start(uint32_t retries) {
    session_deps deps;
    deps.cfg.retries = retries;
    auto picker = sys->spawn(fake_picker, w);
    auto dialer = sys->spawn(fake_dialer, w);
    auto batch = std::make_shared<access_batch>();
    auto log = sys->spawn(fake_access_log, w, batch);
    fakes = {picker, dialer, log};
    deps.picker = caf::actor_cast<picker_actor>(picker);
    deps.dialer = caf::actor_cast<dialer_actor>(dialer);
    deps.access_log = access_log_handle{log, batch};
    session = sys->spawn<test_session>(deps, w);
    sched->run();
  }

  /// Lets the pending backoff expire and runs what follows.
  void after_backoff() {
    REQUIRE(sched->trigger_timeouts() == 1);
    sched->run();
  }

  using log = std::vector<std::string>;
};

}  // namespace

TEST_CASE("a failed connect is retried on another backend after the backoff", "[session_flow]") {
  flow_fixture fx;
  fx.w->dials = {"refused", "ok"};
  fx.start(2);
  // The backoff holds the second pick back.
  CHECK(fx.w->picker_log == flow_fixture::log{"pick", "failed a", "retry a"});
  CHECK_FALSE(fx.w->quit);
  fx.after_backoff();
  CHECK(fx.w->picker_log == flow_fixture::log{"pick", "failed a", "retry a", "pick a", "opened b"});
  CHECK(fx.w->attached == "42");
  // The backend is removed and its drain timeout passed: the session is killed.
  caf::anon_send(fx.session, caf::delete_atom_v, std::string{"b"});
  fx.sched->run();
  CHECK(fx.w->quit);
  CHECK(fx.w->picker_log.back() == "finished b 10/20");
  REQUIRE(fx.w->records.size() == 1);
  CHECK(fx.w->records[0].backend == "b");
  CHECK(fx.w->records[0].retries == 1);
  CHECK(fx.w->records[0].end == termination::killed);
}

TEST_CASE("after retries failed connects the session gives up and names the last failure",
          "[session_flow]") {
  flow_fixture fx;
  fx.w->dials = {"timeout", "timeout"};
  fx.start(1);
  fx.after_backoff();
  CHECK(fx.w->picker_log ==
        flow_fixture::log{"pick", "failed a", "retry a", "pick a", "failed b", "finished - 0/0"});
  CHECK(fx.w->client_closed);
  CHECK(fx.w->quit);
  REQUIRE(fx.w->records.size() == 1);
  CHECK(fx.w->records[0].backend.empty());
  CHECK(fx.w->records[0].retries == 1);
  CHECK(fx.w->records[0].end == termination::connect_timeout);
}

TEST_CASE("a local failure releases the pick uncounted and closes the client", "[session_flow]") {
  flow_fixture fx;
  fx.w->dials = {"local"};
  fx.start(2);
  CHECK(fx.w->picker_log == flow_fixture::log{"pick", "close a", "finished - 0/0"});
  CHECK(fx.w->client_closed);
  CHECK(fx.w->quit);
  REQUIRE(fx.w->records.size() == 1);
  CHECK(fx.w->records[0].retries == 0);
  CHECK(fx.w->records[0].end == termination::local_shortage);
}

TEST_CASE("no backend to pick closes the client at once", "[session_flow]") {
  flow_fixture fx;
  fx.w->backends.clear();
  fx.start(2);
  CHECK(fx.w->picker_log == flow_fixture::log{"pick", "finished - 0/0"});
  CHECK(fx.w->client_closed);
  REQUIRE(fx.w->records.size() == 1);
  CHECK(fx.w->records[0].end == termination::no_backend);
}

TEST_CASE("a client that leaves during its connect releases the pick, no backend blamed",
          "[session_flow]") {
  flow_fixture fx;
  fx.w->dials = {"leave"};
  fx.start(2);
  // Released, not failed, and no session_finished: the backends never served it.
  CHECK(fx.w->picker_log == flow_fixture::log{"pick", "close a"});
  CHECK(fx.w->attached.empty());
  CHECK_FALSE(fx.w->client_closed);
  CHECK(fx.w->quit);
  REQUIRE(fx.w->records.size() == 1);
  CHECK(fx.w->records[0].backend.empty());
}

TEST_CASE("a backend that fails before its PROXY header counts as a failed connect",
          "[session_flow]") {
  flow_fixture fx;
  fx.w->dials = {"ok", "ok"};
  fx.w->proxy_failures = 1;
  fx.start(2);
  CHECK(fx.w->picker_log == flow_fixture::log{"pick", "failed a", "retry a"});
  fx.after_backoff();
  CHECK(fx.w->picker_log == flow_fixture::log{"pick", "failed a", "retry a", "pick a", "opened b"});
  CHECK(fx.w->attached == "42");
  CHECK(fx.w->dials.empty());
}
