// Session: one authenticated client connection on a node.
//
// Runs the handshake (HELLO both ways, then the client's AUTH proof, then the
// node's AUTH_OK), keeps the client's code cache (hash -> blob, each blob sent
// once per connection), hands the client's jobs to the node's JobQueue (and
// cancels or steals them there by id), and sends results back. A malformed,
// oversized or unexpected frame, a wrong secret, an incompatible version, a
// missed deadline or a silent peer closes the session with a logged reason,
// told to the peer in an ERROR first; the node carries on.
// Frames that are valid but wrong for this session (a live job id submitted again,
// CANCEL or STEAL of ids it does not hold) are answered as docs/protocol.md says,
// and only ever touch this session's own jobs. Owned by the Node (shared_ptr);
// runs on the node's io_context thread.
//
// Deadlines: the whole handshake must finish within handshake_timeout of the
// connection's arrival, however slowly its bytes trickle in; before it, frames
// are limited to kMaxHandshakeFrame. After it, a client silent for
// heartbeat_misses heartbeats is dropped. What an unauthenticated peer provokes
// is logged through the node's rate limits.
#pragma once

#include <asio.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/net/frame_stream.hpp"
#include "ppserver/job.hpp"

namespace pp::server {

class Node;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `source` is what the node counts this connection against (its address).
  Session(Node& node, uint64_t id, asio::ip::tcp::socket socket, std::string source);
  ~Session();

  void start();
  uint64_t id() const { return id_; }
  const std::string& peer() const { return peer_; }
  const std::string& source() const { return source_; }
  // True once the client has proved it holds the secret (stays true after close).
  bool authenticated() const { return authenticated_; }
  // Whether CLIENTS lists this session: an authenticated client that is not itself
  // watching (it never asked CLIENTS_ASK: `ppclient top` is no user of the node).
  bool listed() const { return state_ == State::kReady && !watcher_; }
  // This session as CLIENTS lists it (its queued jobs are the JobQueue's count).
  proto::ClientInfo info() const;
  void deliver(proto::ResultMsg&& result);
  // Tells the client the node's pause state (PAUSE), if it understands it (Cap::kPause)
  // and has authenticated; the node calls it when the state changes.
  void tell_pause();
  // Says BYE and closes (node shutdown).
  void say_bye(const std::string& reason);

 private:
  enum class State { kHello, kAuth, kReady, kClosed };
  using Stream = net::FrameStream<asio::ip::tcp::socket>;

  void on_frame(std::string_view payload);
  void on_message(Result<proto::Message>&& msg);
  void on_hello(const proto::Hello& hello);
  void on_auth(const proto::Auth& auth);
  void on_submit(proto::Submit&& submit);
  void on_cancel(uint64_t job_id);
  void on_steal(const std::vector<uint64_t>& job_ids);
  // Scattered values (session_data.cpp): held in the node's DataStore for this client.
  void on_data(proto::DataMsg&& data);
  void on_data_release(const std::string& hash);
  // Gives `job` the values its arguments name; returns why it cannot run ("" if it can).
  std::string attach_data(NodeJob& job);
  // Kept results (Cap::kKeep): the result of a job submitted with `keep` stays in the
  // store for this client, and its RESULT carries the handle instead of the value.
  void keep_result(proto::ResultMsg& result);
  void on_keep_fetch(const std::string& hash);
  void on_clients_ask();
  void reject(uint64_t job_id, std::string why);
  void on_bad_frame(const std::string& why, uint64_t length);
  void refuse(StatusCode code, const std::string& message);
  void fail(const std::string& reason, StatusCode code = StatusCode::kInvalid);
  void on_closed(const std::string& reason);
  void tick();
  void arm_timer();
  void warn_unauthenticated(const std::string& line);

  Node& node_;
  uint64_t id_;
  std::string peer_;
  std::string source_;
  std::shared_ptr<Stream> stream_;
  State state_ = State::kHello;
  bool authenticated_ = false;
  std::string client_nonce_;
  std::string server_nonce_;
  bool encrypted_ = false;          // either HELLO asked for encryption
  std::unordered_map<std::string, std::shared_ptr<const std::string>> code_;
  size_t code_bytes_ = 0;
  // Values of this client the store refused (hash -> why), so a job naming one is
  // rejected with the reason rather than as unknown.
  std::unordered_map<std::string, std::string> refused_data_;
  // Ids of this client's jobs from SUBMIT to RESULT (queued or running): one job per id.
  std::unordered_set<uint64_t> live_;
  // Of them, the ones whose result stays here (SUBMIT's keep).
  std::unordered_set<uint64_t> keep_;
  uint64_t client_max_frame_ = proto::kDefaultMaxFrame;
  bool client_takes_pause_ = false;    // its HELLO has Cap::kPause
  bool client_takes_output_ = false;   // its HELLO has Cap::kOutput (RESULT's ninth field)
  std::string client_host_;            // its HELLO's host and node_id, for CLIENTS
  std::string client_id_;
  bool watcher_ = false;               // it asked CLIENTS_ASK: not listed itself
  std::chrono::steady_clock::time_point authenticated_at_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_rx_;
};

}  // namespace pp::server
