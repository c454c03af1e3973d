// Dashboard: the live page of a batch in the browser, served over HTTP by cpp-httplib on
// threads of its own, never the io thread. It knows nothing of jobs: a StatusSource
// gives the JSON of the latest live snapshot (dashboard_json.hpp), called on the
// server's threads one at a time; after finish() the last JSON it was given is served
// instead, so the page shows the final state until the Dashboard is destroyed.
//
// The page itself is static files compiled into the binary (ppclient/dashboard/, see
// dashboard_assets.hpp), so it works offline. On a loopback address anyone on this
// machine may look; on any other, every request must carry the token (in the URL that
// url() gives, or the cookie the page gets with it), else 403.
//
//   auto d = Dashboard::bind(where, [&] { return dashboard_json(server.live_snapshot()); });
//   if (!d) die(d.status().message());
//   (*d)->serve();                        // from now on requests are answered
//   std::fprintf(stderr, "dashboard: %s\n", (*d)->url().c_str());
//   (*d)->finish(final_json);            // the batch ended
//
// Thread-safe; the destructor stops the server and joins its threads.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/util/status.hpp"
#include "ppclient/src/dashboard_address.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace pp::client {

class Dashboard {
 public:
  using StatusSource = std::function<std::string()>;

  // Listens on `where` (nothing is answered before serve()). kIo naming the address
  // when it cannot.
  static Result<std::unique_ptr<Dashboard>> bind(const DashboardAddress& where,
                                                 StatusSource status);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Starts answering requests, on the server's own threads.
  void serve();
  // The address to open, with "?token=..." when a token is needed.
  const std::string& url() const { return url_; }
  uint16_t port() const { return port_; }
  const std::string& token() const { return token_; }
  // The batch ended: `final_json` is served from now on, and the source is not called
  // again (this waits for a call in progress).
  void finish(std::string final_json);

 private:
  Dashboard(StatusSource status, std::string token);
  // Routing and the token check, for every request.
  void route();
  bool allowed(const httplib::Request& req, httplib::Response& res) const;
  std::string status_json();

  StatusSource source_;
  std::string token_;   // empty on loopback
  std::string url_;
  uint16_t port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mutex_;                  // one source call at a time; final_
  std::optional<std::string> final_;
};

}  // namespace pp::client
