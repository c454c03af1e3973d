// NodeLink: the client's connection to one node.
//
// Connects (with a deadline), runs the client half of the mutual handshake
// (it checks the node's proof before sending any code), then carries CODE (once
// per code hash per connection), SUBMIT and CANCEL out and RESULT in, with
// heartbeats both ways. Any failure ends the link once, through on_down, with a
// reason a user can act on; the JobServer decides about reconnecting. Runs on the
// client's io_context thread only.
//
// Pausing: a node with Cap::kPause sends PAUSE right after AUTH_OK (its state then,
// paused or not) and again whenever it changes. The link is ready (on_ready) only after
// that first PAUSE, so a client never sends a job to a node it does not yet know to be
// paused; later ones go to on_pause.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/net/frame_stream.hpp"
#include "core/proto/auth.hpp"

namespace pp::client {

struct LinkOptions {
  std::string name;                  // "host:port" or "local"
  std::string host;
  uint16_t port = 0;
  proto::AuthKey key;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds heartbeat{1000};
  int heartbeat_misses = 5;
  size_t max_frame = proto::kDefaultMaxFrame;   // largest frame taken from the node
  bool has_secret = true;            // false: the key is the empty secret's (none found)
  bool needs_bytecode = false;       // the client ships LuaJIT bytecode
  bool encrypt = false;              // ask for an encrypted session
};

class NodeLink : public std::enable_shared_from_this<NodeLink> {
 public:
  struct Callbacks {
    std::function<void(NodeLink&)> on_ready;
    std::function<void(NodeLink&, proto::ResultMsg&&)> on_result;
    std::function<void(NodeLink&, proto::Stolen&&)> on_stolen;
    // The node paused or resumed (paused() says which), after on_ready.
    std::function<void(NodeLink&)> on_pause;
    // The answer to fetch_kept (Cap::kKeep): a kept value's bytes, empty if it is gone.
    std::function<void(NodeLink&, proto::Kept&&)> on_kept;
    // `permanent`: refused for a reason a retry will not fix (secret, version).
    std::function<void(NodeLink&, const std::string& reason, bool permanent)> on_down;
    // The answer to ask_clients (Cap::kClients): who else uses the node. Last, so that
    // callers that list the others in order need not name it.
    std::function<void(NodeLink&, proto::Clients&&)> on_clients;
  };

  NodeLink(asio::io_context& io, LinkOptions options, Callbacks callbacks);
  ~NodeLink();

  void start();
  void close(const std::string& reason);
  bool ready() const { return state_ == State::kReady && !awaiting_pause_; }
  // What the node's last PAUSE said (false for a node without Cap::kPause).
  bool paused() const { return pause_.paused; }
  const proto::Pause& pause_state() const { return pause_; }
  const std::string& name() const { return opt_.name; }
  const proto::Hello& node_hello() const { return node_hello_; }
  bool encrypted() const { return encrypted_; }
  uint32_t sched_id = 0;             // the scheduler's id for this node while ready
  bool in_scheduler = false;

  // Sends CODE (first time for this hash) and SUBMIT. Arguments are copied into the
  // write buffer, unless `keep` owns them: then large ones are written from where they
  // lie, and `keep` is held until they are. `worker` (1..): only that worker of the
  // node runs it (can_place() must hold); 0: any. `keep_result`: the node keeps the
  // result's value and answers with its handle (can_keep() must hold).
  void submit(uint64_t job_id, const std::string& hash,
              const std::shared_ptr<const std::string>& blob, std::string_view args,
              uint32_t timeout_ms, std::shared_ptr<const void> keep = nullptr,
              uint32_t worker = 0, bool keep_result = false);
  void cancel(uint64_t job_id);
  // A scattered value (scatter.hpp): DATA the first time on this connection (a node
  // that restarts is a new connection, so it gets it again); its release, if it had it.
  void send_data(const std::string& hash, const std::shared_ptr<const std::string>& bytes);
  void release_data(const std::string& hash);
  bool has_data(const std::string& hash) const { return sent_data_.count(hash) != 0; }
  // Ends one hold of a result the node kept for us (each keep is a hold of its own).
  void release_kept(const std::string& hash);
  // Asks for a kept value's bytes (KEEP_FETCH), answered through on_kept.
  void fetch_kept(const std::string& hash);
  bool can_keep() const { return proto::Caps{node_hello_.caps}.has(proto::Cap::kKeep); }
  // Asks who uses the node (CLIENTS_ASK), answered through on_clients; this connection
  // is then a watcher's, not listed itself. Only when can_list_clients().
  void ask_clients();
  bool can_list_clients() const {
    return proto::Caps{node_hello_.caps}.has(proto::Cap::kClients);
  }
  // Asks that a job sent without `keep` keep its result after all (KEEP_LATE), when the
  // node understands it; false if not sent.
  bool keep_late(uint64_t job_id);
  // Bytes written to and read from the node on this connection.
  uint64_t bytes_sent() const { return stream_ ? stream_->bytes_out() : 0; }
  uint64_t bytes_received() const { return stream_ ? stream_->bytes_in() : 0; }
  // Asks the node to give back jobs it has not started (answered through on_stolen).
  void steal(const std::vector<uint64_t>& job_ids);
  bool can_steal() const { return proto::Caps{node_hello_.caps}.has(proto::Cap::kSteal); }
  // Whether SUBMIT may name the worker that runs the job (Cap::kPlacement).
  bool can_place() const { return proto::Caps{node_hello_.caps}.has(proto::Cap::kPlacement); }
  // The largest frame the node takes (its HELLO's max_frame): what may be sent to it.
  uint64_t node_max_frame() const { return proto::frame_limit_of(node_hello_); }
  // Seconds from our HELLO to the node's: one round trip, measured at connection.
  double handshake_seconds() const { return handshake_seconds_; }

 private:
  enum class State { kConnecting, kHello, kAuth, kReady, kDown };
  using Stream = net::FrameStream<asio::ip::tcp::socket>;

  void on_connected(asio::ip::tcp::socket socket);
  void on_frame(std::string_view payload);
  void on_message(Result<proto::Message>&& msg);
  void on_hello(const proto::Hello& hello);
  void on_error(const proto::Error& error);
  void down(const std::string& reason, bool permanent);
  void tick();

  asio::io_context& io_;
  LinkOptions opt_;
  Callbacks cb_;
  State state_ = State::kConnecting;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket connecting_;
  std::shared_ptr<Stream> stream_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point hello_sent_;
  std::chrono::steady_clock::time_point last_rx_;
  double handshake_seconds_ = 0;
  std::string client_nonce_;
  proto::Hello node_hello_;
  bool encrypted_ = false;           // either HELLO asked for encryption
  bool awaiting_pause_ = false;      // authenticated; the node's first PAUSE is due
  proto::Pause pause_;
  std::unordered_set<std::string> sent_code_;
  std::unordered_set<std::string> sent_data_;
};

}  // namespace pp::client
