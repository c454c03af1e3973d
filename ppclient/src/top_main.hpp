// `ppclient top` (see top_main.cpp; the model and table are top.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace pp::client {

struct TopOptions {
  std::string secret;                         // the cluster's (beacons are signed with it)
  uint16_t discovery_port = 0;
  std::chrono::milliseconds refresh{1000};    // on a terminal: redraw this often
  std::chrono::milliseconds wait{1500};       // not a terminal: listen this long, then print
};

// Listens until SIGINT/SIGTERM on a terminal, else for `wait`; 0, or 1 if discovery
// cannot start.
int run_top(const TopOptions& options);

}  // namespace pp::client
