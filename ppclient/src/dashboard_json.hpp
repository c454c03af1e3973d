// The dashboard's /api/status: a LiveSnapshot (live_figures.hpp) as JSON, written with
// nlohmann-json. The one place the page's data format is defined (docs in README.md,
// "The live dashboard"); ppclient/dashboard/dashboard.js reads it. Pure; thread-safe.
//
//   std::string body = dashboard_json(server.live_snapshot(), /*final=*/false);
#pragma once

#include <string>

#include "ppclient/src/live_figures.hpp"

namespace pp::client {

// `final`: the batch ended and this is its last state. Text that is not valid UTF-8
// (job output, names) is written with U+FFFD in its place.
std::string dashboard_json(const LiveSnapshot& s, bool final);

}  // namespace pp::client
