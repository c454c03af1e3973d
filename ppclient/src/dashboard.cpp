#include "ppclient/src/dashboard.hpp"

#include <httplib.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "core/proto/auth.hpp"
#include "ppclient/src/dashboard_assets.hpp"

namespace pp::client {

namespace {

// Threads answering requests: a browser keeps a few connections open, a script one.
constexpr size_t kThreads = 4;
constexpr const char* kCookie = "pp_dashboard";

std::string_view content_type(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

const DashboardAsset* find_asset(std::string_view name) {
  for (size_t i = 0; i < kDashboardAssetsCount; ++i) {
    if (kDashboardAssets[i].name == name) return &kDashboardAssets[i];
  }
  return nullptr;
}

// Equal without saying where they differ (the time taken does not depend on it).
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The value of cookie `name` in a Cookie header ("a=1; pp_dashboard=...").
std::string_view cookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t end = header.find(';');
    std::string_view item = header.substr(0, end);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.starts_with(name) && item[name.size()] == '=') {
      return item.substr(name.size() + 1);
    }
    if (end == header.npos) break;
    header.remove_prefix(end + 1);
  }
  return {};
}

// Where a person can reach an address that means "every interface".
std::string reachable_host(const std::string& host) {
  if (host != "0.0.0.0" && host != "::") return host;
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return host;
  return name;
}

}  // namespace

Dashboard::Dashboard(StatusSource status, std::string token)
    : source_(std::move(status)), token_(std::move(token)),
      server_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<Dashboard>> Dashboard::bind(const DashboardAddress& where,
                                                   StatusSource status) {
  std::unique_ptr<Dashboard> d(
      new Dashboard(std::move(status), where.loopback ? std::string() : proto::random_hex(24)));
  httplib::Server& s = *d->server_;
  s.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  s.set_keep_alive_timeout(2);
  s.set_read_timeout(5);
  s.set_write_timeout(5);
  if (where.host.find(':') != std::string::npos) s.set_address_family(AF_INET6);
  errno = 0;
  int port = where.port;
  bool ok = where.port == 0 ? (port = s.bind_to_any_port(where.host)) > 0
                            : s.bind_to_port(where.host, where.port);
  if (!ok) {
    int err = errno;
    return Status(StatusCode::kIo,
                  "cannot listen on " + host_port(where.host, where.port) + ": " +
                      (err != 0 ? std::strerror(err) : "the address or the port cannot be used") +
                      " (is the port taken, or the address not one of this machine's?)");
  }
  d->port_ = static_cast<uint16_t>(port);
  d->url_ = "http://" + host_port(reachable_host(where.host), d->port_) + "/";
  if (!d->token_.empty()) d->url_ += "?token=" + d->token_;
  d->route();
  return d;
}

Dashboard::~Dashboard() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void Dashboard::serve() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void Dashboard::set_stream(StreamSource stream) {
  std::lock_guard lock(mutex_);
  stream_ = std::move(stream);
}

void Dashboard::finish(std::string final_json, StreamSource final_stream) {
  std::lock_guard lock(mutex_);
  final_ = std::move(final_json);
  if (final_stream) stream_ = std::move(final_stream);
}

std::string Dashboard::status_json() {
  std::lock_guard lock(mutex_);
  if (final_) return *final_;
  return source_();
}

// /api/stream?since=SEQ: SEQ a run's number (0 or absent: from the start).
void Dashboard::answer_stream(const httplib::Request& req, httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  uint64_t since = 0;
  const std::string text = req.get_param_value("since");
  if (!text.empty()) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), since);
    if (ec != std::errc() || end != text.data() + text.size()) {
      res.status = 400;
      res.set_content("400 Bad Request: since must be a run's number (0, 1, 2, ...), not '" +
                          text.substr(0, 40) + "'\n",
                      "text/plain; charset=utf-8");
      return;
    }
  }
  std::lock_guard lock(mutex_);
  if (!stream_) {
    res.status = 404;
    res.set_content("404 Not Found\n", "text/plain; charset=utf-8");
    return;
  }
  res.set_content(stream_(since), "application/json");
}

// Any request but with the token (when one is needed) is refused; the token given in
// the URL is kept in a cookie, so the page's own requests carry it.
bool Dashboard::allowed(const httplib::Request& req, httplib::Response& res) const {
  if (token_.empty()) return true;
  if (same_secret(req.get_param_value("token"), token_)) {
    res.set_header("Set-Cookie", std::string(kCookie) + "=" + token_ +
                                     "; Path=/; HttpOnly; SameSite=Strict");
    return true;
  }
  if (same_secret(cookie(req.get_header_value("Cookie"), kCookie), token_)) return true;
  res.status = 403;
  res.set_content("403 Forbidden: this dashboard shows job data and needs its token; open "
                  "the URL (with ?token=...) that ppclient printed when it started\n",
                  "text/plain; charset=utf-8");
  return false;
}

void Dashboard::route() {
  httplib::Server& s = *server_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    return allowed(req, res) ? httplib::Server::HandlerResponse::Unhandled
                             : httplib::Server::HandlerResponse::Handled;
  });
  s.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(status_json(), "application/json");
  });
  s.Get("/api/stream", [this](const httplib::Request& req, httplib::Response& res) {
    answer_stream(req, res);
  });
  s.Get(R"(/([a-z_]+\.(html|js|css))?)", [](const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1].length() > 0 ? req.matches[1].str() : "index.html";
    const DashboardAsset* a = find_asset(name);
    if (a == nullptr) {
      res.status = 404;
      res.set_content("404 Not Found\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_content(std::string(a->body), std::string(content_type(a->name)));
  });
}

}  // namespace pp::client
