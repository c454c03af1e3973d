// Messages of the ppcluster wire protocol as plain structs (docs/protocol.md).
//
// Each struct is one frame type. Byte payloads that the node only forwards
// (job arguments, results, code blobs) stay as opaque msgpack bytes in
// std::string so the node never decodes user data.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/proto/constants.hpp"

namespace pp::proto {

struct Hello {
  std::string magic = kMagic;
  uint32_t protocol = kProtocolVersion;
  uint32_t min_protocol = kMinProtocolVersion;
  std::string software = kSoftwareVersion;
  std::string luajit;          // LUAJIT_VERSION of the sender
  int32_t kernel_abi = 0;      // pp_kernels_abi_version() (0 = none)
  std::string role;            // "client" or "node"
  std::string node_id;         // random per process
  std::string host;            // host name
  uint32_t workers = 0;        // nodes only
  double speed = 0;            // nodes only: calibration score x CPU share (0 = unknown)
  uint32_t caps = 0;
  std::string nonce;           // kNonceSize fresh random bytes
  // Largest frame the sender accepts after authentication (a node's --max-frame);
  // 0 = not said (a peer older than this field): take kDefaultMaxFrame.
  uint64_t max_frame = 0;
  // Nodes: the most bytes of scattered values the node holds (--data-cache); 0 = not
  // said (a node without Cap::kData).
  uint64_t data_cache = 0;
};

// The frame limit a peer announced in its HELLO (kDefaultMaxFrame when it said none).
inline uint64_t frame_limit_of(const Hello& h) {
  return h.max_frame > 0 ? h.max_frame : kDefaultMaxFrame;
}

struct Auth { std::string proof; };      // client -> node
struct AuthOk { std::string proof; };    // node -> client

struct Error {
  uint32_t code = 0;   // pp::Code value
  std::string message;
};

struct CodeMsg {
  std::string hash;    // kHashSize bytes: generic hash of blob
  std::string blob;    // code blob (docs/protocol.md "code blob")
};

struct Submit {
  uint64_t job_id = 0;
  std::string hash;
  std::string args;            // msgpack array
  // (On the wire a reserved u32 follows args: written 0, ignored on reading; see
  // docs/protocol.md, SUBMIT.)
  uint32_t timeout_ms = 0;     // 0 = node default
  // The worker of the node that must run it, 1..workers (0 = any). On the wire a sixth
  // field only when not 0, and only to a node whose HELLO has Cap::kPlacement.
  uint32_t worker = 0;
  // Keep the result on the node (Cap::kKeep): its first value, when it is at least
  // kMinKeptValue bytes, stays in the node's store held for this client under its
  // content hash, and RESULT carries its handle (data_ref.hpp) in its place. On the
  // wire a seventh field (1) only when set, and only to a node with Cap::kKeep.
  bool keep = false;
};

struct ResultMsg {
  uint64_t job_id = 0;
  JobStatus status = JobStatus::kOk;
  std::string value;           // msgpack array of returned values when ok; for a Lua
                               // error, of the one value raised when it was not a string
                               // (empty otherwise)
  std::string error;           // message when not ok
  std::string traceback;       // Lua traceback when status is kLuaError
  uint64_t cpu_us = 0;
  uint64_t wall_us = 0;
  uint32_t worker = 0;
  // What the job printed (bounded by the worker; docs/protocol.md, RESULT). On the wire
  // only when not empty, and to a client only when its HELLO has Cap::kOutput.
  std::string output;
};

struct Cancel { uint64_t job_id = 0; };

// A scattered value (core/proto/data_ref.hpp): its content hash and msgpack bytes,
// client -> node once per connection; held for this client until DATA_RELEASE or
// the connection ends. The node never decodes the bytes.
struct DataMsg {
  std::string hash;    // kHashSize bytes: data_hash(bytes)
  std::string bytes;
};
struct DataRelease { std::string hash; };
// A kept result's value, asked for by its client (to move it to another node, or
// because the user wants it), and the node's answer: the bytes, empty when the node
// holds no value of that hash for this client. A kept value is released as a
// scattered one is (DATA_RELEASE).
struct KeepFetch { std::string hash; };
// The client asks, after the fact, that the job it sent keep its result (as SUBMIT's
// `keep`): a job others now wait for. Ignored when the job has answered already.
struct KeepLate { uint64_t job_id = 0; };
struct Kept {
  std::string hash;
  std::string bytes;
};

// Work stealing: the client asks a node to give back jobs it has not started.
struct Steal { std::vector<uint64_t> job_ids; };        // at most kMaxStealIds
// The node's answer, per asked job: taken off its queue (never to run there), or
// already started / finished there (its RESULT comes or came as usual).
struct Stolen {
  std::vector<uint64_t> taken;
  std::vector<uint64_t> started;
};

// The node paused (its workers held for the machine's owner) or resumed; sent when that
// changes, and after AUTH_OK to a client that connects to a paused node.
// (On the wire `paused` is a u8, 0 or 1, and the time whole milliseconds: no field of any
// frame takes a bool or a float.)
struct Pause {
  bool paused = false;
  std::string reason;        // why it is paused (empty when resumed)
  uint64_t paused_ms = 0;    // time the node was paused so far while this session was open
};

// Who uses a node (Cap::kClients). A client asks (CLIENTS_ASK, after authentication only:
// a peer without the secret learns nothing); the node answers with one entry per other
// authenticated client session, the asker and other watchers (sessions that asked) left
// out. (On the wire each entry is an array of the six fields in this order.)
struct ClientsAsk {};
struct ClientInfo {
  std::string host;           // the client's host name, as its HELLO said
  std::string address;        // where it connects from, "ip:port" as the node sees it
  std::string client_id;      // its HELLO's node_id (random per process)
  uint64_t queued = 0;        // its jobs waiting in the node's queue
  uint64_t running = 0;       // its jobs given to workers and not finished
  uint64_t connected_ms = 0;  // milliseconds since it authenticated
  bool operator==(const ClientInfo&) const = default;
};
struct Clients { std::vector<ClientInfo> clients; };   // at most kMaxClientsListed

struct Heartbeat {};
struct Bye { std::string reason; };

struct WorkerReady {
  uint32_t pid = 0;
  std::string luajit;
  int32_t kernel_abi = 0;
};
struct WorkerCode {
  std::string hash;
  std::string blob;
};
struct WorkerRun {
  uint64_t key = 0;      // node-local job key, echoed in the RESULT
  std::string hash;
  std::string args;
};
// Before a job of another client: the worker starts a fresh Lua state and forgets
// every code blob it had.
struct WorkerReset {};
// A scattered value for the worker's jobs of its present client: decoded once there.
// Empty bytes: forget the value (released by every client on the node).
struct WorkerData {
  std::string hash;
  std::string bytes;
};

using Message = std::variant<Hello, Auth, AuthOk, Error, CodeMsg, Submit, ResultMsg, Cancel,
                             Heartbeat, Bye, WorkerReady, WorkerCode, WorkerRun, Steal, Stolen,
                             WorkerReset, DataMsg, DataRelease, WorkerData, Pause, KeepFetch,
                             Kept, Clients, ClientsAsk, KeepLate>;

MsgType type_of(const Message& m);
const char* type_name(MsgType t);

}  // namespace pp::proto
