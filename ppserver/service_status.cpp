#include "ppserver/service_status.hpp"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/util/log.hpp"

namespace pp::server {
namespace {

// How often STATUS= is refreshed: what `systemctl status` shows may lag by this much.
constexpr std::chrono::seconds kStatusInterval{1};

std::string plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

ServiceStatus::ServiceStatus(asio::io_context& io, std::function<Figures()> figures)
    : timer_(io), figures_(std::move(figures)), enabled_(std::getenv("NOTIFY_SOCKET") != nullptr) {}

std::string ServiceStatus::status_line(const std::string& endpoint, const Figures& f) {
  const std::string paused = f.paused.empty() ? "" : "paused (" + f.paused + "): ";
  return paused + "serving on " + endpoint + ": " +
         plural(static_cast<size_t>(f.workers), "worker", "workers") + ", " +
         plural(f.clients, "client", "clients") + ", " +
         plural(f.running, "job running", "jobs running") + ", " + std::to_string(f.queued) +
         " queued";
}

void ServiceStatus::ready(const std::string& endpoint) {
  if (!enabled_) return;
  endpoint_ = endpoint;
  last_status_ = status_line(endpoint_, figures_());
  send("READY=1\nSTATUS=" + last_status_);
  timer_.expires_after(kStatusInterval);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) tick();
  });
}

void ServiceStatus::changed() {
  if (!enabled_ || endpoint_.empty()) return;
  std::string line = status_line(endpoint_, figures_());
  if (line != last_status_) {
    last_status_ = std::move(line);
    send("STATUS=" + last_status_);
  }
}

void ServiceStatus::tick() {
  changed();
  timer_.expires_after(kStatusInterval);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) tick();
  });
}

void ServiceStatus::stopping(const std::string& why) {
  if (!enabled_) return;
  timer_.cancel();
  send("STOPPING=1\nSTATUS=shutting down: " + why);
}

void ServiceStatus::send(const std::string& message) {
  // A full or vanished socket costs the node nothing but this line: it goes on serving.
  int rc = sd_notify(0, message.c_str());
  if (rc < 0) PP_DEBUG("sd_notify failed: %s", std::strerror(-rc));
}

}  // namespace pp::server
