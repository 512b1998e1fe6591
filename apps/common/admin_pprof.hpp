#pragma once

// The pprof routes of an admin port, like Go's net/http/pprof, with gperftools doing the
// profiling (Debian's libgoogle-perftools-dev; read the result with `google-pprof` from the
// package google-perftools):
//
//   GET /debug/pprof/profile?seconds=N  CPU profile of the whole process over N seconds
//                                       (1..60, default 30), gperftools' CPU profile format
//   GET /debug/pprof/heap?seconds=N     heap profile of what was allocated during N seconds
//                                       (1..60, default 10) and is still live at the end;
//                                       needs tcmalloc linked in (non-sanitized builds of
//                                       server, lb and client), 501 otherwise
//
// One profile of each kind at a time (a second request gets 409). The request's admin
// worker thread waits out the window; the actors keep running and are what gets measured.

#include "apps/common/admin.hpp"

namespace l4sim::apps {

/// Adds the /debug/pprof routes.
void add_pprof_routes(admin_server& admin);

}  // namespace l4sim::apps
