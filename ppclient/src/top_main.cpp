// `ppclient top`: the nodes of the LAN as discovery reveals them, refreshed live on a
// terminal, a one-shot table otherwise. A discovery Browser on an io context of its own,
// and a ClientsAsker that connects to each node of the cluster to ask who uses it; it
// runs no job.
#include "ppclient/src/top_main.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <asio.hpp>
#include <csignal>
#include <cstdio>
#include <memory>

#include "core/discovery/discovery.hpp"
#include "core/util/log.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/top.hpp"
#include "ppclient/src/top_clients.hpp"

namespace pp::client {
namespace {

using Clock = NodeWatch::Clock;

int terminal_columns() {
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 120;
}

// Draws the screen again every `every` until the io context stops, and asks the nodes
// again who uses them (the answers show in the next screen).
void redraw_every(asio::steady_timer& timer, std::chrono::milliseconds every,
                  const NodeWatch& watch, ClientsAsker& asker) {
  const auto now = Clock::now();
  std::string screen = "\033[H\033[2J";   // home, clear
  screen += "ppclient top: " + std::to_string(watch.size()) + " node" +
            (watch.size() == 1 ? "" : "s") + " heard (Ctrl-C to quit)\n\n";
  screen += render_top(watch, now, terminal_columns());
  std::fwrite(screen.data(), 1, screen.size(), stdout);
  std::fflush(stdout);
  asker.ask_all();
  timer.expires_after(every);
  timer.async_wait([&timer, every, &watch, &asker](const asio::error_code& ec) {
    if (!ec) redraw_every(timer, every, watch, asker);
  });
}

}  // namespace

int run_top(const TopOptions& o) {
  asio::io_context io;
  NodeWatch watch;
  ClientsAsker asker(io, o.secret, watch);
  auto browser = discovery::make_browser(
      io, browse_options(o.discovery_port, {}), o.secret,
      [&watch, &asker](const discovery::Sighting& s) {
        watch.seen(s.facts, s.via, s.gone, Clock::now());
        asker.seen(s.facts, s.gone);
      });
  if (Status st = browser->start(); !st) {
    std::fprintf(stderr, "ppclient top: %s\n", st.message().c_str());
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](const asio::error_code& ec, int) {
    if (!ec) io.stop();
  });
  asio::steady_timer timer(io);
  const bool live = ::isatty(STDOUT_FILENO) == 1;
  if (live) {
    redraw_every(timer, o.refresh, watch, asker);
  } else {
    timer.expires_after(o.wait);
    timer.async_wait([&io](const asio::error_code& ec) {
      if (!ec) io.stop();
    });
  }
  io.run();
  browser->stop();
  asker.stop();
  // Let the BYEs to the nodes leave (each node logs a clean goodbye, not a dropped peer).
  io.restart();
  io.run_for(std::chrono::milliseconds(200));
  if (!live) {
    std::string table = render_top(watch, Clock::now(), 200);
    std::fwrite(table.data(), 1, table.size(), stdout);
  }
  return 0;
}

}  // namespace pp::client
