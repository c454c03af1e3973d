// Protocol constants of ppcluster: versions, ports, limits and message types.
// Every frame is described in docs/protocol.md; keep the two in step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pp::proto {

// Wire protocol version spoken by this build, and the oldest one it accepts.
inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr uint32_t kMinProtocolVersion = 1;
inline constexpr char kMagic[] = "ppcluster";
inline constexpr char kSoftwareVersion[] = "0.1.0";

// Parallel Python's port, so its users find the familiar number.
inline constexpr uint16_t kDefaultPort = 60000;
// UDP port of discovery beacons (docs/protocol.md, "Discovery"); the one place it is written,
// but for the standalone public header pp/cluster.hpp, which is checked against it.
inline constexpr uint16_t kDefaultDiscoveryPort = 60001;

// Frames: a 4-byte big-endian length, then one msgpack value of that length.
inline constexpr size_t kHeaderSize = 4;
inline constexpr size_t kDefaultMaxFrame = 64u << 20;
// Before authentication only HELLO and AUTH are allowed, and they are small.
inline constexpr size_t kMaxHandshakeFrame = 4096;
// The largest payload a 4-byte length can announce: no peer can take a bigger frame.
inline constexpr size_t kMaxWireFrame = 0xFFFFFFFFu;
// The most a CODE / SUBMIT / RESULT payload adds to the bytes it carries (array and
// type, ids, hash, length prefixes, counters): a job fits a peer's frame limit when its
// blob / arguments / values plus this do. Checked against the codec in proto_test.
inline constexpr size_t kCodeEnvelope = 32;
inline constexpr size_t kSubmitEnvelope = 64;
inline constexpr size_t kResultEnvelope = 64;
inline constexpr size_t kDataEnvelope = 32;   // DATA: array, type, hash, length prefix

inline constexpr size_t kNonceSize = 32;
inline constexpr size_t kProofSize = 32;
inline constexpr size_t kHashSize = 16;

enum class MsgType : uint8_t {
  kHello = 1,
  kAuth = 2,
  kAuthOk = 3,
  kError = 4,
  kCode = 10,
  kSubmit = 11,
  kResult = 12,
  kCancel = 13,
  // 14 was STATUS, defined in protocol 1 but never sent: retired, never to be reused.
  kHeartbeat = 15,
  kBye = 16,
  kSteal = 17,
  kStolen = 18,
  // Scattered values (js:scatter): the value's bytes, sent once per connection before
  // the first SUBMIT that names it, and its release.
  kData = 19,
  kDataRelease = 20,
  // A node's pause for its machine's owner, node -> client (to clients with Cap::kPause).
  kPause = 21,
  // Kept results (Cap::kKeep): the client asks for a value a node keeps; the node's
  // answer carries its bytes (empty when it holds none).
  kKeepFetch = 22,
  kKept = 23,
  // Who uses a node (Cap::kClients): the node's answer listing its client sessions, and
  // the request (`ppclient top`, after authentication).
  kClients = 24,
  kClientsAsk = 25,
  // Keep a job's result after all (Cap::kKeepLate): a job others now wait for, sent
  // before they came, client -> node; ignored once the job has answered.
  kKeepLate = 26,
  // Between a node and its worker processes (never on the network).
  kWorkerReady = 30,
  kWorkerCode = 31,
  kWorkerRun = 32,
  kWorkerReset = 33,
  kWorkerData = 34,
};

// Capabilities settled in HELLO; logic asks caps.has(...), never a version.
enum class Cap : uint32_t {
  kBytecode = 1u << 0,   // LuaJIT bytecode blobs accepted (same LuaJIT version)
  kSource = 1u << 1,     // Lua source blobs accepted
  kCancel = 1u << 2,     // CANCEL honoured
  // 1u << 3 was "STATUS sent": retired with STATUS, never set, ignored when a peer sets it.
  kSteal = 1u << 4,      // STEAL answered with STOLEN
  kEncrypt = 1u << 5,    // this side asks for the session to be encrypted after the handshake
  kOutput = 1u << 6,     // RESULT may carry the job's output (a ninth field)
  kData = 1u << 7,       // DATA / DATA_RELEASE understood; handles (ext 2) resolved in args
  kPlacement = 1u << 8,  // SUBMIT may name the one worker of the node that runs it (a sixth field)
  kPause = 1u << 9,      // PAUSE understood (a client) / sent when the node pauses (a node)
  kKeep = 1u << 10,      // SUBMIT may ask the node to keep the result (a seventh field);
                         // KEEP_FETCH answered with KEPT
  kClients = 1u << 11,   // CLIENTS_ASK answered with CLIENTS (a node); its facts carry
                         // load_own and load_other (beacon, TXT)
  kKeepLate = 1u << 12,  // KEEP_LATE understood
};

struct Caps {
  uint32_t bits = 0;
  bool has(Cap c) const { return (bits & static_cast<uint32_t>(c)) != 0; }
  void add(Cap c) { bits |= static_cast<uint32_t>(c); }
};

inline constexpr uint32_t kOwnCaps = static_cast<uint32_t>(Cap::kBytecode) |
                                     static_cast<uint32_t>(Cap::kSource) |
                                     static_cast<uint32_t>(Cap::kCancel) |
                                     static_cast<uint32_t>(Cap::kSteal) |
                                     static_cast<uint32_t>(Cap::kOutput) |
                                     static_cast<uint32_t>(Cap::kData) |
                                     static_cast<uint32_t>(Cap::kPlacement) |
                                     static_cast<uint32_t>(Cap::kPause) |
                                     static_cast<uint32_t>(Cap::kKeep) |
                                     static_cast<uint32_t>(Cap::kClients) |
                                     static_cast<uint32_t>(Cap::kKeepLate);

// A kept result's first value smaller than this comes back inline: it costs about what
// its handle costs, and needs no release.
inline constexpr size_t kMinKeptValue = 1024;

// Job ids in one STEAL (and in each list of a STOLEN).
inline constexpr size_t kMaxStealIds = 1024;
// Entries in one CLIENTS (the same bound as any array of a frame); bytes of each of its
// strings (host names, addresses, ids), cut by the node.
inline constexpr size_t kMaxClientsListed = 1024;
inline constexpr size_t kMaxClientString = 255;

// Why a job did not return a value (RESULT.status).
enum class JobStatus : uint8_t {
  kOk = 0,
  kLuaError = 1,     // the job raised an error; message and traceback attached
  kTimeout = 2,      // exceeded its time limit; the worker was killed
  kCrashed = 3,      // the worker process died (signal, FFI fault)
  kMemory = 4,       // the worker ran out of its memory limit
  kCancelled = 5,
  kRejected = 6,     // the node could not accept it (unknown code, bad args)
  kLost = 7,         // client side: no node could run it
  kDependency = 8,   // client side: an input or `after` job failed, so it never ran
};

const char* job_status_name(JobStatus s);

}  // namespace pp::proto
