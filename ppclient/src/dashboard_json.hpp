// The dashboard's /api/status and /api/stream: a LiveSnapshot (live_figures.hpp) as
// JSON, written with nlohmann-json. The one place the page's data format is defined (docs in README.md,
// "The live dashboard"); ppclient/dashboard/dashboard.js reads it. Pure; thread-safe.
//
//   std::string body = dashboard_json(server.live_snapshot(), /*final=*/false);
//   std::string part = dashboard_stream_json(server.live_snapshot(), since, false);
#pragma once

#include <string>

#include "ppclient/src/live_figures.hpp"

namespace pp::client {

// `final`: the batch ended and this is its last state. Text that is not valid UTF-8
// (job output, names) is written with U+FFFD in its place.
std::string dashboard_json(const LiveSnapshot& s, bool final);

// The task stream from `since` on: the runs that ended after the `since`-th (each run
// has a number, 1, 2, ..., in the order they ended), at most the snapshot's last
// LiveFigures::kRecentExecutions (more are counted as "skipped"), and the copies
// running now (all of them: one per worker slot at most). A page passes back the
// "seq" it was given as `since` next time, so each run crosses the wire once.
std::string dashboard_stream_json(const LiveSnapshot& s, uint64_t since, bool final);

}  // namespace pp::client
