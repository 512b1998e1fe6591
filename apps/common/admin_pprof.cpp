#include "apps/common/admin_pprof.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gperftools/profiler.h>

#include "protocols/text_escape.hpp"
#include "protocols/units.hpp"

namespace l4sim::apps {

namespace {

constexpr uint64_t max_seconds = 60;

/// Reads `?seconds=N` (1..60, `fallback` when absent); nothing when malformed.
std::optional<uint64_t> window(const admin_params& params, uint64_t fallback) {
  auto i = params.find("seconds");
  if (i == params.end()) {
    return fallback;
  }
  auto n = protocols::parse_uint(i->second, max_seconds);
  if (!n || *n == 0) {
    return std::nullopt;
  }
  return n;
}

admin_reply bad_window(const admin_params& params) {
  auto i = params.find("seconds");
  return text_reply(400, fmt::format("seconds: want a whole number 1..{}, got \"{}\"", max_seconds,
                                     protocols::escape_control(i->second.substr(0, 40))));
}

admin_reply binary_reply(std::string data) {
  return {200, std::move(data), "application/octet-stream"};
}

std::string read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Returns the name of a new empty temporary file.
std::string temp_path() {
  char name[] = "/tmp/l4sim-pprof-XXXXXX";
  int fd = ::mkstemp(name);
  if (fd < 0) {
    return fmt::format("/tmp/l4sim-pprof-{}", ::getpid());
  }
  ::close(fd);
  return name;
}

admin_reply cpu_profile(const admin_params& params) {
  static std::mutex busy;
  auto seconds = window(params, 30);
  if (!seconds) {
    return bad_window(params);
  }
  std::unique_lock<std::mutex> lock{busy, std::try_to_lock};
  if (!lock.owns_lock()) {
    return text_reply(409, "a CPU profile is being taken already; try again when it is done");
  }
  auto path = temp_path();
  // SIGPROF for the whole process (ITIMER_PROF): every thread that runs gets sampled.
  if (ProfilerStart(path.c_str()) == 0) {
    std::remove(path.c_str());
    return text_reply(503, "gperftools could not start the CPU profiler (is CPUPROFILE set?)");
  }
  std::this_thread::sleep_for(std::chrono::seconds{*seconds});
  ProfilerStop();
  auto data = read_all(path);
  std::remove(path.c_str());
  if (data.empty()) {
    return text_reply(500, "the CPU profile came out empty");
  }
  return binary_reply(std::move(data));
}

/// gperftools' heap profiler, found at run time: it is part of tcmalloc, which only the
/// non-sanitized service binaries link (tcmalloc and AddressSanitizer both replace malloc).
struct heap_profiler {
  void (*start)(const char*) = nullptr;
  void (*stop)() = nullptr;
  int (*running)() = nullptr;
  char* (*profile)() = nullptr;

  static const heap_profiler& get() {
    static heap_profiler hp = [] {
      heap_profiler h;
      h.start = reinterpret_cast<void (*)(const char*)>(::dlsym(RTLD_DEFAULT, "HeapProfilerStart"));
      h.stop = reinterpret_cast<void (*)()>(::dlsym(RTLD_DEFAULT, "HeapProfilerStop"));
      h.running = reinterpret_cast<int (*)()>(::dlsym(RTLD_DEFAULT, "IsHeapProfilerRunning"));
      h.profile = reinterpret_cast<char* (*)()>(::dlsym(RTLD_DEFAULT, "GetHeapProfile"));
      return h;
    }();
    return hp;
  }

  bool linked() const { return start && stop && running && profile; }
};

admin_reply heap_profile(const admin_params& params) {
  static std::mutex busy;
  auto& hp = heap_profiler::get();
  if (!hp.linked()) {
    return text_reply(501,
                      "no heap profiles from this build: tcmalloc is not linked in (sanitized "
                      "builds leave it out; AddressSanitizer replaces malloc itself)");
  }
  auto seconds = window(params, 10);
  if (!seconds) {
    return bad_window(params);
  }
  std::unique_lock<std::mutex> lock{busy, std::try_to_lock};
  if (!lock.owns_lock() || hp.running() != 0) {
    return text_reply(409, "a heap profile is being taken already; try again when it is done");
  }
  // The profiler dumps to files only past thresholds (1 GB allocated by default): its
  // prefix names a temporary place, the answer is taken from memory.
  auto prefix = temp_path();
  hp.start(prefix.c_str());
  std::this_thread::sleep_for(std::chrono::seconds{*seconds});
  char* text = hp.profile();
  hp.stop();
  std::remove(prefix.c_str());
  if (text == nullptr) {
    return text_reply(500, "the heap profiler gave no profile");
  }
  std::string data{text};
  std::free(text);
  return binary_reply(std::move(data));
}

}  // namespace

void add_pprof_routes(admin_server& admin) {
  admin.route("GET", "/debug/pprof/profile",
              admin_query_handler{[](const admin_params& params, const std::string&) {
                return cpu_profile(params);
              }});
  admin.route("GET", "/debug/pprof/heap",
              admin_query_handler{[](const admin_params& params, const std::string&) {
                return heap_profile(params);
              }});
}

}  // namespace l4sim::apps
