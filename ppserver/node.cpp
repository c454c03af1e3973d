#include "ppserver/node.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/proto/codec.hpp"
#include "core/util/log.hpp"
#include "ppserver/session.hpp"

namespace pp::server {
namespace {

using Clock = std::chrono::steady_clock;

// Limited log lines: ten at once, then one every ten seconds per kind.
constexpr int kNoiseBurst = 10;
constexpr auto kNoiseInterval = std::chrono::seconds(10);
// At shutdown, the most the BYE frames to clients may take to leave.
constexpr auto kFarewell = std::chrono::milliseconds(100);

// The source a connection is counted against: its IPv4 address, or the /64 of an
// IPv6 address (what one host is usually given).
std::string source_of(const asio::ip::address& a) {
  if (a.is_v4()) return a.to_string();
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

// Tells a refused peer why, if its socket buffer takes the frame at once; never blocks.
void send_refusal(asio::ip::tcp::socket& sock, const std::string& why) {
  std::string frame;
  proto::encode_frame(proto::Error{static_cast<uint32_t>(StatusCode::kTooLarge), why}, frame);
  ssize_t ignored = ::send(sock.native_handle(), frame.data(), frame.size(),
                           MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)ignored;
}

}  // namespace

Node::Node(NodeConfig config)
    : config_(std::move(config)),
      key_(proto::derive_key(config_.secret)),
      listener_(
          io_, [this](asio::ip::tcp::socket sock) { admit(std::move(sock)); },
          [this](const std::string& line) { warn_limited(Noise::kAccept, line); }),
      signals_(io_, SIGINT, SIGTERM, SIGHUP),
      pause_signals_(io_, SIGUSR1, SIGUSR2),
      idle_timer_(io_),
      noise_{LogLimiter(kNoiseBurst, kNoiseInterval), LogLimiter(kNoiseBurst, kNoiseInterval),
             LogLimiter(kNoiseBurst, kNoiseInterval), LogLimiter(kNoiseBurst, kNoiseInterval)},
      noise_timer_(io_),
      jobs_(config_.max_queued_per_session),
      data_(static_cast<uint64_t>(config_.data_cache_mb) << 20),
      service_(io_, [this] {
        return ServiceStatus::Figures{pool_ ? pool_->size() : 0, sessions_.size(),
                                      pool_ ? pool_->running() : 0, jobs_.size(),
                                      pause_.reason()};
      }),
      cpu_(getpid()) {}

Node::~Node() = default;

proto::Hello Node::hello(const std::string& nonce) const {
  return proto::hello_of(facts_, "node", nonce);
}

int Node::run() {
  uint16_t port = listener_.open(config_.address, config_.port);
  started_ = Clock::now();
  facts_ = node_facts(config_, port);
  if (config_.report_fd >= 0) {
    std::string line = std::to_string(port) + "\n";
    ssize_t ignored = ::write(config_.report_fd, line.data(), line.size());
    (void)ignored;
    ::close(config_.report_fd);
  }
  pool_ = std::make_unique<WorkerPool>(
      io_, config_, pause_,
      WorkerPool::Callbacks{
          [this](NodeJob&& j, proto::ResultMsg&& r) { on_result(std::move(j), std::move(r)); },
          [this](NodeJob&& j) { on_requeue(std::move(j)); }, [this] { dispatch(); }});
  pool_->start(facts_.host + ":" + std::to_string(port));
  calibration_ = std::make_unique<SpeedCalibration>(
      [this](double score) { asio::post(io_, [this, score] { calibrated(score); }); });
  PP_INFO("ppserver %s listening on %s:%u with %d workers%s", proto::kSoftwareVersion,
          config_.address.c_str(), port, config_.workers,
          config_.secret.empty() ? " (no secret: loopback only)" : "");
  PP_INFO("limits: %zu sessions, %zu of them authenticating (%zu per source), %lld ms to "
          "authenticate, frames of %zu bytes before authentication and %zu after",
          config_.max_sessions, config_.max_handshakes, config_.max_handshakes_per_source,
          static_cast<long long>(config_.handshake_timeout.count()), proto::kMaxHandshakeFrame,
          config_.max_frame);
  if (config_.autodiscovery) start_discovery();
  start_guest();
  signals_.async_wait([this](const asio::error_code& ec, int sig) {
    if (!ec) shutdown(std::string("signal ") + strsignal(sig));
  });
  watch_pause_signals();
  last_activity_ = Clock::now();
  if (config_.idle_exit.count() > 0) idle_check();
  if (config_.exit_with_fd >= 0) watch_exit_fd();
  listener_.start();
  service_.ready(config_.address + ":" + std::to_string(port));
  io_.run();
  // shutdown() stopped the loop: what is still in flight (BYE frames) leaves now. This
  // ends as soon as nothing is pending, at the latest after kFarewell.
  io_.restart();
  io_.run_for(kFarewell);
  sessions_.clear();
  return exit_code_;
}

void Node::calibrated(double score) {
  // Its thread has handed the score over and is ending: join it now, so no thread of the
  // calibration outlives the log line below.
  calibration_.reset();
  // A node held to a share of the CPU is that much slower per worker.
  facts_.speed = score * std::clamp(config_.cpu_limit, 1, 100) / 100.0;
  PP_INFO("speed score %.2f (calibrated)", facts_.speed);
}

void Node::admit(asio::ip::tcp::socket sock) {
  asio::error_code ec;
  auto ep = sock.remote_endpoint(ec);
  if (ec) return;  // the peer is gone already
  std::string source = source_of(ep.address());
  std::string why = admission_refusal(source);
  if (!why.empty()) {
    warn_limited(Noise::kRefused, "refusing a connection from " + ep.address().to_string() + ":" +
                                      std::to_string(ep.port()) + ": " + why);
    send_refusal(sock, "node busy: " + why + "; try again later");
    return;  // the socket closes here
  }
  auto s = std::make_shared<Session>(*this, ++last_session_, std::move(sock), std::move(source));
  sessions_.emplace(s->id(), s);
  last_activity_ = Clock::now();
  s->start();
}

void Node::report_suppressed() {
  static constexpr const char* kWhat[] = {"refused connections", "failed handshakes",
                                          "failed authentications", "failed accepts"};
  for (size_t k = 0; k < noise_.size(); ++k) {
    uint64_t n = noise_[k].take_suppressed();
    if (n > 0) {
      PP_WARN("%llu similar lines suppressed (%s)", static_cast<unsigned long long>(n), kWhat[k]);
    }
  }
}

// Why a new connection from `source` must be refused; empty when it may come in.
std::string Node::admission_refusal(const std::string& source) const {
  if (sessions_.size() >= config_.max_sessions) {
    return std::to_string(sessions_.size()) + " sessions already (--max-sessions)";
  }
  size_t handshakes = 0, from_source = 0;
  for (const auto& [id, s] : sessions_) {
    if (s->authenticated()) continue;
    ++handshakes;
    if (s->source() == source) ++from_source;
  }
  if (handshakes >= config_.max_handshakes) {
    return std::to_string(handshakes) + " connections already authenticating (--max-handshakes)";
  }
  if (from_source >= config_.max_handshakes_per_source) {
    return std::to_string(from_source) + " connections from " + source +
           " already authenticating (--max-handshakes-per-address)";
  }
  return {};
}

void Node::warn_limited(Noise kind, const std::string& line) {
  uint64_t suppressed = 0;
  if (!noise_[static_cast<size_t>(kind)].allow(Clock::now(), &suppressed)) {
    // Say how many were held back even if the flood stops now.
    if (!noise_timer_armed_ && !stopping_) {
      noise_timer_armed_ = true;
      noise_timer_.expires_after(kNoiseInterval);
      noise_timer_.async_wait([this](const asio::error_code& ec) {
        noise_timer_armed_ = false;
        if (!ec) report_suppressed();
      });
    }
    return;
  }
  if (suppressed == 0) {
    PP_WARN("%s", line.c_str());
  } else {
    PP_WARN("%s (%llu similar lines suppressed)", line.c_str(),
            static_cast<unsigned long long>(suppressed));
  }
}

// Gives queued jobs to workers until none can go now (the rule is JobQueue's).
void Node::dispatch() {
  if (!pool_) return;
  while (auto grant = jobs_.next(*pool_)) pool_->assign(grant->worker, std::move(grant->job));
}

void Node::on_result(NodeJob&& job, proto::ResultMsg&& result) {
  last_activity_ = Clock::now();
  auto it = sessions_.find(job.session_id);
  if (it != sessions_.end()) it->second->deliver(std::move(result));
}

void Node::on_requeue(NodeJob&& job) {
  auto it = sessions_.find(job.session_id);
  if (it == sessions_.end()) return;
  if (job.cancelled) {
    // Cancelled before it started: its one RESULT says so (docs/protocol.md).
    proto::ResultMsg r;
    r.job_id = job.client_job_id;
    r.status = proto::JobStatus::kCancelled;
    r.error = "cancelled";
    it->second->deliver(std::move(r));
    return;
  }
  jobs_.requeue(std::move(job));
}

void Node::cancel(uint64_t session_id, std::optional<uint64_t> client_job_id) {
  if (pool_) pool_->cancel(session_id, client_job_id);
}

void Node::session_closed(uint64_t session_id, const std::string& reason) {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return;
  if (it->second->authenticated()) {
    PP_INFO("client %s left (%s); dropping its queued jobs, stopping its running ones",
            it->second->peer().c_str(), reason.c_str());
  }
  jobs_.drop(session_id);
  cancel(session_id, std::nullopt);
  if (data_.holds_any(session_id)) data_changed(data_.release_all(session_id), "a client left");
  last_activity_ = Clock::now();
  // Erase after the current handler: the session may be inside its own callback.
  auto keep = it->second;
  sessions_.erase(it);
  asio::post(io_, [keep] {});
}

void Node::data_changed(const std::vector<std::string>& freed, const char* why,
                        DataEvent event) {
  if (pool_) {
    for (const std::string& hash : freed) pool_->forget_data(hash);
  }
  const auto values = data_.values();
  const auto bytes = static_cast<unsigned long long>(data_.bytes());
  const auto limit = static_cast<unsigned long long>(data_.limit());
  if (event == DataEvent::kPerJob) {
    PP_DEBUG("data cache: %zu values, %llu of %llu bytes held (%s)", values, bytes, limit, why);
  } else {
    PP_INFO("data cache: %zu values, %llu of %llu bytes held (%s)", values, bytes, limit, why);
  }
}

proto::Clients Node::clients(uint64_t asking) const {
  proto::Clients out;
  for (const auto& [id, s] : sessions_) {
    if (out.clients.size() == proto::kMaxClientsListed) break;
    if (id != asking && s->listed()) out.clients.push_back(s->info());
  }
  return out;
}

proto::NodeFacts Node::facts() {
  proto::NodeFacts f = facts_;
  // The busy watch samples each second; the facts take its sample when it is that fresh.
  const guest::LoadShares s = cpu_.recent(std::chrono::seconds(1));
  f.load_own = s.own * cpu_.cpus();
  f.load_other = s.other * cpu_.cpus();
  f.load = f.load_other;   // what clients before load_own / load_other read
  f.paused = pause_.paused();
  return f;
}

void Node::start_discovery() {
  discovery::AnnounceOptions o;
  o.broadcast = config_.broadcast_on;
  o.mdns = config_.mdns;
  o.port = config_.discovery_port;
  o.listen_address = config_.address;
  o.broadcast_override = config_.broadcast;
  o.interval = config_.announce_interval;
  announcer_ = discovery::make_announcer(io_, o, config_.secret, [this] { return facts(); });
  announcer_->start();
}

void Node::idle_check() {
  if (sessions_.empty() && Clock::now() - last_activity_ > config_.idle_exit) {
    shutdown("idle for " + std::to_string(config_.idle_exit.count()) + " s");
    return;
  }
  idle_timer_.expires_after(std::chrono::milliseconds(500));
  idle_timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) idle_check();
  });
}

void Node::start_guest() {
  if (config_.pause_when_busy > 0) {
    busy_ = std::make_unique<guest::BusyWatch>(
        io_, cpu_,
        guest::BusyPolicy::Options{static_cast<double>(config_.pause_when_busy),
                                   config_.pause_grace, config_.pause_min},
        [this](std::string reason) { hold(PauseCause::kBusy, std::move(reason)); },
        [this] { release(PauseCause::kBusy); });
    busy_->start();
  }
  if (config_.pause_when_user_active.count() > 0) {
    user_active_ = std::make_unique<guest::LogindWatch>(
        io_, config_.pause_when_user_active,
        [this](std::string reason) { hold(PauseCause::kUserActive, std::move(reason)); },
        [this] { release(PauseCause::kUserActive); });
    user_active_->start();
  }
}

void Node::watch_pause_signals() {
  pause_signals_.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGUSR1) {
      hold(PauseCause::kSignal, "paused by SIGUSR1");
    } else {
      release(PauseCause::kSignal);
    }
    watch_pause_signals();
  });
}

void Node::hold(PauseCause cause, std::string reason) {
  const bool was_paused = pause_.paused();
  if (pause_.hold(cause, std::move(reason), Clock::now())) pause_changed(was_paused);
}

void Node::release(PauseCause cause) {
  const bool was_paused = pause_.paused();
  if (pause_.release(cause, Clock::now())) pause_changed(was_paused);
}

void Node::pause_changed(bool was_paused) {
  if (stopping_) return;
  if (pause_.paused() && !was_paused) {
    if (pool_) pool_->paused();
    PP_INFO("paused: %s; %zu jobs held on their workers, %zu queued wait (clients may take "
            "them back)",
            pause_.reason().c_str(), pool_ ? pool_->running() : 0, jobs_.size());
  } else if (!pause_.paused()) {
    if (pool_) pool_->resumed();
    const double secs = std::chrono::duration<double>(Clock::now() - pause_.since()).count();
    PP_INFO("resumed after %.1f s paused", secs);
  } else {
    PP_INFO("still paused: %s", pause_.reason().c_str());
  }
  service_.changed();
  for (auto& [id, s] : sessions_) s->tell_pause();
  if (announcer_) announcer_->changed();   // the beacon's and TXT's `paused`, at once
  if (!pause_.paused()) dispatch();
}

void Node::watch_exit_fd() {
  set_cloexec(config_.exit_with_fd);
  exit_fd_ = std::make_unique<asio::posix::stream_descriptor>(io_, config_.exit_with_fd);
  exit_fd_->async_wait(asio::posix::stream_descriptor::wait_read,
                       [this](const asio::error_code& ec) {
                         if (ec != asio::error::operation_aborted) shutdown("parent exited");
                       });
}

void Node::shutdown(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  PP_INFO("shutting down: %s", why.c_str());
  service_.stopping(why);
  asio::error_code ignored;
  listener_.close();
  signals_.cancel(ignored);
  pause_signals_.cancel(ignored);
  idle_timer_.cancel();
  noise_timer_.cancel();
  report_suppressed();
  if (exit_fd_) exit_fd_->cancel(ignored);
  for (auto& [id, s] : sessions_) s->say_bye("node shutting down: " + why);
  if (announcer_) {
    announcer_->stop();
    double secs = std::chrono::duration<double>(Clock::now() - started_).count();
    PP_INFO("autodiscovery: sent %llu beacon bytes in %.1f s (%.1f bytes/s)",
            static_cast<unsigned long long>(announcer_->bytes_sent()), secs,
            secs > 0 ? static_cast<double>(announcer_->bytes_sent()) / secs : 0.0);
  }
  user_active_.reset();   // joins its reader: no reading pauses or resumes a stopping node
  if (pool_) pool_->stop();
  io_.stop();  // run() lets the BYE frames leave
}

}  // namespace pp::server
