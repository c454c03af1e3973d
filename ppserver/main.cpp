// ppserver: a ppcluster compute node (see node.hpp), or, with hidden options,
// one of its worker processes (see worker_process.hpp).
#include <signal.h>

#include <cstdio>
#include <exception>

#include "core/net/bulk_heap.hpp"
#include "core/util/log.hpp"
#include "ppserver/cli.hpp"
#include "ppserver/node.hpp"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  pp::net::keep_bulk_buffers();   // node and workers alike move jobs' bulk bytes
  auto cmd = pp::server::parse_command_line(argc, argv);
  if (auto* exit = std::get_if<pp::server::Exit>(&cmd)) return exit->code;
  if (auto* w = std::get_if<pp::server::RunWorker>(&cmd)) {
    pp::log::set_tag("ppserver worker " + std::to_string(w->config.index));
    return pp::server::run_worker_process(w->config);
  }
  pp::log::set_tag("ppserver");
  try {
    pp::server::Node node(std::get<pp::server::RunNode>(cmd).config);
    return node.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ppserver: %s\n", e.what());
    return 1;
  }
}
