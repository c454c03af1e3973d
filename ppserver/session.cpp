#include "ppserver/session.hpp"

#include <unordered_set>

#include "core/proto/auth.hpp"
#include "core/proto/compat.hpp"
#include "core/proto/frame_limit.hpp"
#include "core/util/byte_count.hpp"
#include "core/util/log.hpp"
#include "ppserver/node.hpp"

namespace pp::server {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxCodeBytes = 256u << 20;
constexpr size_t kMaxCodeBlobs = 100000;
// How long a closed session's last frames may take to leave before its socket is
// closed anyway (a peer that never reads would otherwise hold the descriptor).
constexpr auto kLinger = std::chrono::seconds(10);

}  // namespace

Session::Session(Node& node, uint64_t id, asio::ip::tcp::socket socket, std::string source)
    : node_(node), id_(id), source_(std::move(source)), timer_(socket.get_executor()) {
  asio::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  peer_ = ec ? "unknown peer" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  stream_ = std::make_shared<Stream>(std::move(socket), proto::kMaxHandshakeFrame);
}

Session::~Session() {
  if (!stream_->closing()) {
    stream_->detach();
    return;
  }
  if (!stream_->is_open()) return;
  auto linger = std::make_shared<asio::steady_timer>(timer_.get_executor(), kLinger);
  linger->async_wait([linger, weak = std::weak_ptr<Stream>(stream_)](const asio::error_code&) {
    if (auto s = weak.lock()) s->detach();
  });
}

void Session::start() {
  started_ = last_rx_ = Clock::now();
  stream_->start([this](std::string_view p) { on_frame(p); },
                 [this](const std::string& why) { on_closed(why); },
                 [this](const std::string& why, uint64_t length) { on_bad_frame(why, length); });
  arm_timer();
}

void Session::tick() {
  auto now = Clock::now();
  const auto& cfg = node_.config();
  if (state_ == State::kClosed) return;
  if (state_ != State::kReady) {
    // Counted from the connection's arrival, not from its last byte: trickling
    // bytes does not buy time.
    if (now >= started_ + cfg.handshake_timeout) {
      fail("no authentication within " + std::to_string(cfg.handshake_timeout.count()) + " ms");
      return;
    }
  } else {
    if (now - last_rx_ > cfg.heartbeat * cfg.heartbeat_misses) {
      fail("client silent for " + std::to_string((cfg.heartbeat * cfg.heartbeat_misses).count()) +
           " ms");
      return;
    }
    stream_->send(proto::Heartbeat{});
  }
  arm_timer();
}

// Before authentication the timer waits for the handshake deadline itself;
// after it, for the next heartbeat.
void Session::arm_timer() {
  const auto& cfg = node_.config();
  if (state_ == State::kReady) {
    timer_.expires_after(cfg.heartbeat);
  } else {
    timer_.expires_at(started_ + cfg.handshake_timeout);
  }
  timer_.async_wait([self = weak_from_this()](const asio::error_code& ec) {
    if (auto s = self.lock(); s && !ec) s->tick();
  });
}

void Session::warn_unauthenticated(const std::string& line) {
  node_.warn_limited(Node::Noise::kHandshake, line);
}

void Session::on_frame(std::string_view payload) {
  on_message(proto::decode_message(payload));
}

void Session::on_message(Result<proto::Message>&& msg) {
  last_rx_ = Clock::now();
  if (!msg) {
    fail("malformed frame: " + msg.status().message());
    return;
  }
  switch (state_) {
    case State::kHello:
      if (auto* h = std::get_if<proto::Hello>(&*msg)) return on_hello(*h);
      break;
    case State::kAuth:
      if (auto* a = std::get_if<proto::Auth>(&*msg)) return on_auth(*a);
      break;
    case State::kReady:
      if (auto* s = std::get_if<proto::Submit>(&*msg)) return on_submit(std::move(*s));
      if (auto* c = std::get_if<proto::CodeMsg>(&*msg)) {
        if (code_.size() >= kMaxCodeBlobs || code_bytes_ + c->blob.size() > kMaxCodeBytes) {
          return fail("client exceeded the code cache limit");
        }
        if (proto::code_hash(c->blob) != c->hash) return fail("CODE hash does not match its blob");
        code_bytes_ += c->blob.size();
        code_.emplace(c->hash, std::make_shared<const std::string>(std::move(c->blob)));
        return;
      }
      if (auto* d = std::get_if<proto::DataMsg>(&*msg)) return on_data(std::move(*d));
      if (auto* r = std::get_if<proto::DataRelease>(&*msg)) return on_data_release(r->hash);
      if (auto* k = std::get_if<proto::KeepFetch>(&*msg)) return on_keep_fetch(k->hash);
      if (std::holds_alternative<proto::ClientsAsk>(*msg)) return on_clients_ask();
      if (auto* k = std::get_if<proto::KeepLate>(&*msg)) {
        if (live_.contains(k->job_id)) keep_.insert(k->job_id);   // else: answered already
        return;
      }
      if (auto* c = std::get_if<proto::Cancel>(&*msg)) return on_cancel(c->job_id);
      if (auto* st = std::get_if<proto::Steal>(&*msg)) return on_steal(st->job_ids);
      if (std::holds_alternative<proto::Heartbeat>(*msg)) return;
      if (auto* e = std::get_if<proto::Error>(&*msg)) {
        // The client ends the session and says why; answering would reach no one.
        PP_WARN("client %s ended the session: %s", peer_.c_str(), e->message.c_str());
        state_ = State::kClosed;
        stream_->close("client sent ERROR: " + e->message);
        return;
      }
      if (auto* b = std::get_if<proto::Bye>(&*msg)) {
        PP_DEBUG("session %s: client said bye (%s)", peer_.c_str(), b->reason.c_str());
        state_ = State::kClosed;
        stream_->close("client said bye");
        return;
      }
      break;
    case State::kClosed:
      return;
  }
  fail(std::string("unexpected ") + proto::type_name(proto::type_of(*msg)) + " frame");
}

void Session::on_hello(const proto::Hello& hello) {
  if (hello.magic != proto::kMagic || hello.role != "client") {
    return fail("not a ppcluster client");
  }
  proto::Hello reply = node_.hello(proto::random_bytes(proto::kNonceSize));
  // The node runs what it is sent: only the protocol range must match. A client of another
  // LuaJIT may still send source, so bytecode is merely not offered to it.
  auto compat = proto::check(proto::versions_of(hello), proto::versions_of(reply), {});
  if (!compat) {
    std::string why = compat.message("client", "node");
    node_.warn_limited(Node::Noise::kAuth, "refusing " + peer_ + ": " + why);
    return refuse(StatusCode::kIncompatible, why);
  }
  if (!compat.same_luajit) reply.caps &= ~static_cast<uint32_t>(proto::Cap::kBytecode);
  client_nonce_ = hello.nonce;
  client_max_frame_ = proto::frame_limit_of(hello);
  client_takes_output_ = proto::Caps{hello.caps}.has(proto::Cap::kOutput);
  client_takes_pause_ = proto::Caps{hello.caps}.has(proto::Cap::kPause);
  client_host_ = hello.host.substr(0, proto::kMaxClientString);
  client_id_ = hello.node_id.substr(0, proto::kMaxClientString);
  server_nonce_ = reply.nonce;
  encrypted_ = proto::Caps{hello.caps}.has(proto::Cap::kEncrypt) ||
               proto::Caps{reply.caps}.has(proto::Cap::kEncrypt);
  stream_->send(reply);
  state_ = State::kAuth;
}

void Session::on_auth(const proto::Auth& auth) {
  std::string expected =
      proto::client_proof(node_.key(), client_nonce_, server_nonce_, encrypted_);
  if (!proto::proof_equal(expected, auth.proof)) {
    node_.warn_limited(Node::Noise::kAuth,
                       "refusing " + peer_ + ": authentication failed (wrong secret or replayed "
                       "proof)");
    return refuse(StatusCode::kAuth,
                  "authentication failed: the client's secret does not match this node's");
  }
  stream_->send(
      proto::AuthOk{proto::server_proof(node_.key(), client_nonce_, server_nonce_, encrypted_)});
  if (encrypted_) {
    auto keys = proto::session_keys(node_.key(), client_nonce_, server_nonce_);
    stream_->encrypt(std::make_unique<proto::FrameCipher>(std::move(keys.node_to_client),
                                                          std::move(keys.client_to_node)));
  }
  stream_->set_max_frame(node_.config().max_frame);
  // Large arguments are read straight into the string the job keeps, which WORKER_RUN is
  // written from: the node never copies them (not on an encrypted session, whose frames
  // open whole).
  stream_->divert_fields(&proto::locate_submit_args,
                         [this](std::string_view p, std::string&& args) {
                           on_message(proto::decode_message(p, std::move(args)));
                         });
  state_ = State::kReady;
  authenticated_ = true;
  authenticated_at_ = Clock::now();
  arm_timer();  // the handshake deadline gives way to heartbeats
  PP_INFO("client %s connected%s", peer_.c_str(), encrypted_ ? " (encrypted session)" : "");
  tell_pause();   // its state now, paused or not: the client waits for it before any job
}

void Session::tell_pause() {
  if (state_ != State::kReady || !client_takes_pause_) return;
  const PauseState& p = node_.pause();
  const auto now = Clock::now();
  const auto paused = std::chrono::duration_cast<std::chrono::milliseconds>(
      p.paused_between(started_, now));
  stream_->send(proto::Pause{p.paused(), p.reason(), static_cast<uint64_t>(paused.count())});
}

// Only an authenticated session gets here (CLIENTS_ASK before AUTH_OK is an unexpected
// frame): a peer without the secret learns nothing of who uses the node.
void Session::on_clients_ask() {
  watcher_ = true;
  stream_->send(node_.clients(id_));
}

proto::ClientInfo Session::info() const {
  const size_t queued = node_.jobs().queued(id_);
  const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(
      Clock::now() - authenticated_at_);
  return proto::ClientInfo{client_host_,
                           peer_.substr(0, proto::kMaxClientString),
                           client_id_,
                           queued,
                           live_.size() > queued ? live_.size() - queued : 0,
                           static_cast<uint64_t>(std::max<int64_t>(0, since.count()))};
}

void Session::reject(uint64_t job_id, std::string why) {
  proto::ResultMsg r;
  r.job_id = job_id;
  r.status = proto::JobStatus::kRejected;
  r.error = std::move(why);
  stream_->send(r);
}

void Session::on_submit(proto::Submit&& s) {
  auto code = code_.find(s.hash);
  if (code == code_.end()) {
    return reject(s.job_id, "the node has no code with this hash: CODE must precede SUBMIT");
  }
  if (!node_.jobs().has_room(id_)) {
    return reject(s.job_id, "the node's queue for this client is full");
  }
  const int workers = node_.config().workers;
  if (s.worker > static_cast<uint32_t>(workers)) {
    return reject(s.job_id, "no worker " + std::to_string(s.worker) + " on this node: it has " +
                                std::to_string(workers) + " (workers are numbered from 1)");
  }
  // A job id names one job of this session until its RESULT: a second SUBMIT of a live
  // id is refused and the first goes on (docs/protocol.md, "Valid frames, wrong session").
  if (!live_.insert(s.job_id).second) {
    return reject(s.job_id, "job " + std::to_string(s.job_id) +
                                " is already queued or running in this session; the first "
                                "SUBMIT goes on, this one is not run");
  }
  NodeJob job;
  job.session_id = id_;
  job.client_job_id = s.job_id;
  job.key = node_.next_key();
  job.hash = std::move(s.hash);
  job.blob = code->second;
  job.args = std::make_shared<const std::string>(std::move(s.args));
  if (std::string why = attach_data(job); !why.empty()) {
    live_.erase(s.job_id);
    return reject(s.job_id, std::move(why));
  }
  auto limit = node_.config().job_timeout;
  auto asked = std::chrono::milliseconds(s.timeout_ms);
  job.timeout = (asked.count() > 0 && (limit.count() == 0 || asked < limit)) ? asked : limit;
  job.worker = static_cast<int>(s.worker) - 1;   // -1: any worker
  if (s.keep) keep_.insert(s.job_id);
  node_.jobs().push(std::move(job));
  node_.dispatch();
}

void Session::on_cancel(uint64_t job_id) {
  if (node_.jobs().cancel(id_, job_id)) {
    proto::ResultMsg r;
    r.job_id = job_id;
    r.status = proto::JobStatus::kCancelled;
    r.error = "cancelled";
    live_.erase(job_id);
    keep_.erase(job_id);
    stream_->send(r);
    return;
  }
  node_.cancel(id_, job_id);
}

void Session::on_steal(const std::vector<uint64_t>& job_ids) {
  // Only jobs still queued were never started: those are given back. Anything else
  // (given to a worker, finished, unknown) is "started": its RESULT comes, or came,
  // the usual way.
  proto::Stolen answer;
  answer.taken = node_.jobs().steal(id_, job_ids);
  std::unordered_set<uint64_t> answered(answer.taken.begin(), answer.taken.end());
  for (uint64_t id : answer.taken) live_.erase(id), keep_.erase(id);
  for (uint64_t id : job_ids) {
    if (answered.insert(id).second) answer.started.push_back(id);
  }
  PP_DEBUG("session %s: %zu jobs stolen, %zu already started", peer_.c_str(), answer.taken.size(),
           answer.started.size());
  stream_->send(answer);
}

void Session::deliver(proto::ResultMsg&& result) {
  if (state_ != State::kReady) return;
  live_.erase(result.job_id);
  if (keep_.erase(result.job_id) > 0 && result.status == proto::JobStatus::kOk) {
    keep_result(result);
  }
  // A job's output goes to clients that read it, when it fits beside the rest.
  size_t bytes = result.value.size() + result.error.size() + result.traceback.size();
  if (!client_takes_output_ ||
      !proto::fits_frame(bytes + result.output.size(), proto::kResultEnvelope, client_max_frame_)) {
    result.output.clear();
  }
  // The client said in its HELLO how large a frame it takes; a bigger RESULT would end
  // the session, so the job fails instead, saying why.
  if (!proto::fits_frame(bytes, proto::kResultEnvelope, client_max_frame_)) {
    PP_WARN("job %llu of %s: its result (%zu bytes) is too large for the client",
            static_cast<unsigned long long>(result.job_id), peer_.c_str(), bytes);
    const char* what = result.status == proto::JobStatus::kOk
                           ? "its return values are"
                           : "its error message and traceback are";
    result.error = proto::too_large(result.job_id, what, bytes, "the client's", client_max_frame_,
                                    "");
    result.status = proto::JobStatus::kRejected;
    result.value.clear();
    result.traceback.clear();
  }
  stream_->send(proto::Message(std::move(result)));   // moved in: its value is not copied
}

void Session::say_bye(const std::string& reason) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  stream_->send(proto::Bye{reason});
  stream_->close_after_flush();
}

void Session::refuse(StatusCode code, const std::string& message) {
  state_ = State::kClosed;
  stream_->send(proto::Error{static_cast<uint32_t>(code), message});
  stream_->close_after_flush();
  node_.session_closed(id_, message);
}

// A frame the stream could not take: over the limit (`length` announced), empty, or
// not opening. The peer hears why, naming the limit and the option that sets it.
void Session::on_bad_frame(const std::string& why, uint64_t length) {
  const size_t limit = node_.config().max_frame;
  if (length == 0) return fail(why);
  if (!authenticated_) return fail(why + " before authentication", StatusCode::kTooLarge);
  fail("bad frame: frame of " + with_commas(length) + " bytes exceeds this node's frame limit of " +
           with_commas(limit) + " bytes (ppserver --max-frame)",
       StatusCode::kTooLarge);
}

void Session::fail(const std::string& reason, StatusCode code) {
  if (authenticated_) {
    PP_WARN("closing session with %s: %s", peer_.c_str(), reason.c_str());
  } else {
    warn_unauthenticated("closing unauthenticated connection from " + peer_ + ": " + reason);
  }
  state_ = State::kClosed;
  stream_->send(proto::Error{static_cast<uint32_t>(code), reason});
  stream_->close_after_flush();
  node_.session_closed(id_, reason);
}

void Session::on_closed(const std::string& reason) {
  if (!authenticated_) {
    warn_unauthenticated("connection from " + peer_ + " closed before authentication: " + reason);
  }
  state_ = State::kClosed;
  timer_.cancel();
  node_.session_closed(id_, reason);
}

}  // namespace pp::server
