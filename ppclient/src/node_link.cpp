#include "ppclient/src/node_link.hpp"

#include <unistd.h>

#include <algorithm>

#include "core/proto/compat.hpp"
#include "core/util/log.hpp"
#include "pp_kernels.h"

extern "C" {
#include <luajit.h>
}

namespace pp::client {
namespace {
using Clock = std::chrono::steady_clock;
}

NodeLink::NodeLink(asio::io_context& io, LinkOptions options, Callbacks callbacks)
    : io_(io),
      opt_(std::move(options)),
      cb_(std::move(callbacks)),
      resolver_(io),
      connecting_(io),
      timer_(io) {}

NodeLink::~NodeLink() {
  if (stream_) stream_->detach();
}

void NodeLink::start() {
  started_ = Clock::now();
  auto self = shared_from_this();
  resolver_.async_resolve(
      opt_.host, std::to_string(opt_.port),
      [self](const asio::error_code& ec, asio::ip::tcp::resolver::results_type results) {
        if (self->state_ != State::kConnecting) return;
        if (ec) return self->down("cannot resolve " + self->opt_.host + ": " + ec.message(), false);
        asio::async_connect(self->connecting_, results,
                            [self](const asio::error_code& ec2, const asio::ip::tcp::endpoint&) {
                              if (self->state_ != State::kConnecting) return;
                              if (ec2) return self->down("cannot connect: " + ec2.message(), false);
                              self->on_connected(std::move(self->connecting_));
                            });
      });
  tick();
}

void NodeLink::on_connected(asio::ip::tcp::socket socket) {
  asio::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  stream_ = std::make_shared<Stream>(std::move(socket), proto::kMaxHandshakeFrame);
  stream_->start([this](std::string_view p) { on_frame(p); },
                 [this](const std::string& why) { down(why, false); });
  last_rx_ = Clock::now();
  client_nonce_ = proto::random_bytes(proto::kNonceSize);
  proto::Hello h;
  h.luajit = LUAJIT_VERSION;
  h.kernel_abi = pp_kernels_abi_version();
  h.role = "client";
  h.node_id = proto::random_hex(8);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  h.host = host;
  h.caps = proto::kOwnCaps;
  if (opt_.encrypt) h.caps |= static_cast<uint32_t>(proto::Cap::kEncrypt);
  h.nonce = client_nonce_;
  h.max_frame = opt_.max_frame;
  stream_->send(h);
  hello_sent_ = Clock::now();
  state_ = State::kHello;
}

void NodeLink::tick() {
  if (state_ == State::kDown) return;
  auto now = Clock::now();
  if (state_ != State::kReady && now - started_ > opt_.connect_timeout) {
    return down(state_ == State::kConnecting ? "connection timed out" : "handshake timed out",
                false);
  }
  if (state_ == State::kReady) {
    if (now - last_rx_ > opt_.heartbeat * opt_.heartbeat_misses) {
      return down("node silent for " +
                      std::to_string((opt_.heartbeat * opt_.heartbeat_misses).count()) + " ms",
                  false);
    }
    stream_->send(proto::Heartbeat{});
  }
  timer_.expires_after(state_ == State::kReady ? opt_.heartbeat : std::chrono::milliseconds(100));
  timer_.async_wait([self = weak_from_this()](const asio::error_code& ec) {
    if (auto s = self.lock(); s && !ec) s->tick();
  });
}

void NodeLink::on_frame(std::string_view payload) { on_message(proto::decode_message(payload)); }

void NodeLink::on_message(Result<proto::Message>&& msg) {
  last_rx_ = Clock::now();
  if (!msg) return down("malformed frame from node: " + msg.status().message(), false);
  if (auto* err = std::get_if<proto::Error>(&*msg)) return on_error(*err);
  if (auto* bye = std::get_if<proto::Bye>(&*msg)) return down("node left: " + bye->reason, false);
  switch (state_) {
    case State::kHello:
      if (auto* h = std::get_if<proto::Hello>(&*msg)) return on_hello(*h);
      break;
    case State::kAuth:
      if (auto* ok = std::get_if<proto::AuthOk>(&*msg)) {
        std::string expected =
            proto::server_proof(opt_.key, client_nonce_, node_hello_.nonce, encrypted_);
        if (!proto::proof_equal(expected, ok->proof)) {
          return down("the node failed to prove it knows the cluster secret", true);
        }
        if (encrypted_) {
          auto keys = proto::session_keys(opt_.key, client_nonce_, node_hello_.nonce);
          stream_->encrypt(std::make_unique<proto::FrameCipher>(std::move(keys.client_to_node),
                                                                std::move(keys.node_to_client)));
        }
        state_ = State::kReady;
        stream_->set_max_frame(opt_.max_frame);
        // A large result's value is read straight into the string the job keeps.
        stream_->divert_fields(&proto::locate_result_value,
                               [this](std::string_view payload, std::string&& value) {
                                 on_message(proto::decode_message(payload, std::move(value)));
                               });
        // A node that pauses says its state first: the link is ready once it has.
        awaiting_pause_ = proto::Caps{node_hello_.caps}.has(proto::Cap::kPause);
        if (!awaiting_pause_) cb_.on_ready(*this);
        return;
      }
      break;
    case State::kReady:
      if (auto* r = std::get_if<proto::ResultMsg>(&*msg)) return cb_.on_result(*this, std::move(*r));
      if (auto* st = std::get_if<proto::Stolen>(&*msg)) return cb_.on_stolen(*this, std::move(*st));
      if (auto* k = std::get_if<proto::Kept>(&*msg)) {
        if (cb_.on_kept) cb_.on_kept(*this, std::move(*k));
        return;
      }
      if (auto* c = std::get_if<proto::Clients>(&*msg)) {
        if (cb_.on_clients) cb_.on_clients(*this, std::move(*c));
        return;
      }
      if (std::holds_alternative<proto::Heartbeat>(*msg)) return;
      if (auto* p = std::get_if<proto::Pause>(&*msg)) {
        pause_ = std::move(*p);
        if (awaiting_pause_) {
          awaiting_pause_ = false;
          return cb_.on_ready(*this);
        }
        return cb_.on_pause(*this);
      }
      break;
    default:
      break;
  }
  down(std::string("unexpected ") + proto::type_name(proto::type_of(*msg)) + " from node", false);
}

void NodeLink::on_hello(const proto::Hello& h) {
  if (h.magic != proto::kMagic || h.role != "node") return down("not a ppcluster node", true);
  auto compat = proto::check(proto::versions_of(h),
                             proto::own_versions(pp_kernels_abi_version(), LUAJIT_VERSION),
                             {.kernel_abi = true, .bytecode = opt_.needs_bytecode});
  if (!compat) return down(compat.message("node", "client"), true);
  proto::Caps caps{h.caps};
  node_hello_ = h;
  encrypted_ = opt_.encrypt || caps.has(proto::Cap::kEncrypt);
  handshake_seconds_ = std::chrono::duration<double>(Clock::now() - hello_sent_).count();
  stream_->send(proto::Auth{proto::client_proof(opt_.key, client_nonce_, h.nonce, encrypted_)});
  state_ = State::kAuth;
}

// The node ends the session and says why (docs/protocol.md, ERROR): that reason is
// what the user sees, in the log and in the failure of jobs no node could run.
void NodeLink::on_error(const proto::Error& err) {
  bool auth = err.code == static_cast<uint32_t>(StatusCode::kAuth);
  bool permanent = auth || err.code == static_cast<uint32_t>(StatusCode::kIncompatible);
  if (auth && !opt_.has_secret) {
    return down("node refused: it requires the cluster secret and this client has none; give "
                "it with pp.server{secret = ...} (C++: ClusterOptions::secret), $PP_SECRET, or "
                "the file ~/.ppcluster/secret (`ppclient nodes --secret-file FILE`)",
                true);
  }
  down((permanent ? "node refused: " : "node ended the session: ") + err.message, permanent);
}

void NodeLink::submit(uint64_t job_id, const std::string& hash,
                      const std::shared_ptr<const std::string>& blob, std::string_view args,
                      uint32_t timeout_ms, std::shared_ptr<const void> keep,
                      uint32_t worker, bool keep_result) {
  if (state_ != State::kReady) return;
  if (sent_code_.insert(hash).second) stream_->send(proto::CodeMsg{hash, *blob});
  // Encoded straight from the caller's arguments: large ones held by `keep` are written
  // from where they lie; others are copied once, into the write buffer.
  stream_->send_encoded(
      [&](proto::FrameOut out) {
        proto::encode_submit(job_id, hash, args, timeout_ms, out, worker, keep_result);
      },
      std::move(keep));
}

void NodeLink::ask_clients() {
  if (state_ == State::kReady && can_list_clients()) stream_->send(proto::ClientsAsk{});
}

void NodeLink::send_data(const std::string& hash,
                         const std::shared_ptr<const std::string>& bytes) {
  if (state_ != State::kReady || !sent_data_.insert(hash).second) return;
  stream_->send_encoded(
      [&](proto::FrameOut out) { proto::encode_data(proto::MsgType::kData, hash, *bytes, out); },
      bytes);
}

void NodeLink::release_data(const std::string& hash) {
  if (sent_data_.erase(hash) != 0 && state_ == State::kReady) {
    stream_->send(proto::DataRelease{hash});
  }
}

void NodeLink::release_kept(const std::string& hash) {
  if (state_ == State::kReady) stream_->send(proto::DataRelease{hash});
}

void NodeLink::fetch_kept(const std::string& hash) {
  if (state_ == State::kReady) stream_->send(proto::KeepFetch{hash});
}

bool NodeLink::keep_late(uint64_t job_id) {
  if (state_ != State::kReady || !proto::Caps{node_hello_.caps}.has(proto::Cap::kKeepLate)) {
    return false;
  }
  stream_->send(proto::KeepLate{job_id});
  return true;
}

void NodeLink::cancel(uint64_t job_id) {
  if (state_ == State::kReady) stream_->send(proto::Cancel{job_id});
}

void NodeLink::steal(const std::vector<uint64_t>& job_ids) {
  if (state_ != State::kReady) return;
  for (size_t i = 0; i < job_ids.size(); i += proto::kMaxStealIds) {
    size_t n = std::min(proto::kMaxStealIds, job_ids.size() - i);
    stream_->send(proto::Steal{{job_ids.begin() + static_cast<long>(i),
                                job_ids.begin() + static_cast<long>(i + n)}});
  }
}

void NodeLink::close(const std::string& reason) {
  if (state_ == State::kDown) return;
  if (state_ == State::kReady) stream_->send(proto::Bye{reason});
  state_ = State::kDown;
  timer_.cancel();
  resolver_.cancel();
  asio::error_code ignored;
  connecting_.close(ignored);
  if (stream_) stream_->close_after_flush();
}

void NodeLink::down(const std::string& reason, bool permanent) {
  if (state_ == State::kDown) return;
  state_ = State::kDown;
  timer_.cancel();
  resolver_.cancel();
  asio::error_code ignored;
  connecting_.close(ignored);
  // No handler runs from here on, but what is queued (an ERROR telling the node why a
  // frame of its was refused) still leaves.
  if (stream_) stream_->close_after_flush();
  cb_.on_down(*this, reason, permanent);
}

}  // namespace pp::client
