// Dashboard: the live page of a batch in the browser, served over HTTP by cpp-httplib on
// threads of its own, never the io thread. It knows nothing of jobs: a StatusSource
// gives the JSON of the latest live snapshot (dashboard_json.hpp), called on the
// server's threads one at a time; after finish() the last JSON it was given is served
// instead, so the page shows the final state until the Dashboard is destroyed.
//
// The page itself is static files compiled into the binary (ppclient/dashboard/, see
// dashboard_assets.hpp), so it works offline. /api/stream?since=SEQ answers from a
// StreamSource (the task stream from run SEQ on, dashboard_stream_json), so a page
// polling it gets each run once rather than the whole stream each time. On a loopback address anyone on this
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

#include <cstdint>
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
  // The JSON of the task stream after run `since` (dashboard_stream_json).
  using StreamSource = std::function<std::string(uint64_t since)>;

  // Listens on `where` (nothing is answered before serve()). kIo naming the address
  // when it cannot.
  static Result<std::unique_ptr<Dashboard>> bind(const DashboardAddress& where,
                                                 StatusSource status);
  ~Dashboard();
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  // Where /api/stream answers from (before serve(); without one it answers 404).
  void set_stream(StreamSource stream);
  // Starts answering requests, on the server's own threads.
  void serve();
  // The address to open, with "?token=..." when a token is needed.
  const std::string& url() const { return url_; }
  uint16_t port() const { return port_; }
  const std::string& token() const { return token_; }
  // The batch ended: `final_json` is served from now on, and the source is not called
  // again (this waits for a call in progress); so is `final_stream`, over the final
  // state, for /api/stream when given.
  void finish(std::string final_json, StreamSource final_stream = nullptr);

 private:
  Dashboard(StatusSource status, std::string token);
  // Routing and the token check, for every request.
  void route();
  bool allowed(const httplib::Request& req, httplib::Response& res) const;
  std::string status_json();
  void answer_stream(const httplib::Request& req, httplib::Response& res);

  StatusSource source_;
  StreamSource stream_;
  std::string token_;   // empty on loopback
  std::string url_;
  uint16_t port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mutex_;                  // one source call at a time; final_, stream_
  std::optional<std::string> final_;
};

}  // namespace pp::client
