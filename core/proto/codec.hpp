// Encoding and decoding of protocol messages: pure functions over bytes.
//
// A frame is a 4-byte big-endian payload length followed by the payload, one
// msgpack array [type, fields...]. encode_frame() appends a whole frame to a
// caller-owned buffer so many frames can be batched into one write.
// decode_message() is strict: wrong types, missing fields, unknown message
// types and trailing bytes are errors (StatusCode::kInvalid), never exceptions.
//
// Large byte fields (job arguments, returned values) need not be copied into the
// output: given a splice list, the encoder writes their msgpack header, leaves their
// bytes out and records where they belong, and the writer sends them from where they
// lie (scatter/gather). The frame's length counts them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/frame_reader.hpp"
#include "core/proto/messages.hpp"
#include "core/util/status.hpp"

namespace pp::proto {

// A byte field left out of an encoded buffer: its bytes belong at offset `at` of it.
struct Splice {
  size_t at;
  std::string_view bytes;
};
// Byte fields of at least this size are spliced rather than copied: below it a copy
// costs less than one more piece of a write.
inline constexpr size_t kMinSplice = 64 * 1024;

// Where a frame is encoded: appended to `bytes`; when `splices` is given, byte fields
// of kMinSplice bytes or more are recorded there instead of copied (the caller keeps
// them alive until they are written).
struct FrameOut {
  std::string& bytes;
  std::vector<Splice>* splices = nullptr;
};

// Appends the frame carrying `m` to `out`.
void encode_frame(const Message& m, std::string& out);
void encode_frame(const Message& m, FrameOut out);
// SUBMIT and WORKER_RUN from fields the caller holds, so arguments kept for a retry are
// neither copied into a message nor moved out of their owner.
// `worker`: Submit::worker (0 = any worker); `keep`: Submit::keep.
void encode_submit(uint64_t job_id, std::string_view hash, std::string_view args,
                   uint32_t timeout_ms, FrameOut out, uint32_t worker = 0, bool keep = false);
void encode_worker_run(uint64_t key, std::string_view hash, std::string_view args, FrameOut out);
// DATA and WORKER_DATA likewise, from a scattered value's bytes where they are kept.
void encode_data(MsgType type, std::string_view hash, std::string_view bytes, FrameOut out);
// Decodes one frame payload (without its length header).
Result<Message> decode_message(std::string_view payload);

// A RESULT's value, located in the first bytes of its payload (FrameReader's locator for
// a stream whose results' values are kept: a client's link, the node's worker streams; the
// value is read straight into the string it is kept in). Finds a bin32 value, the only
// header a field of FrameReader::kMinDivert bytes or more has.
LargeField locate_result_value(std::string_view prefix);
// A SUBMIT's arguments, the same way (the node's session: they are read straight into the
// string its NodeJob keeps and WORKER_RUN is written from).
LargeField locate_submit_args(std::string_view prefix);
// Decodes a payload whose field one of those locators found was read apart (`field`, the
// payload holding it as an empty bin): as strictly as decode_message, and the field is
// put back where it belongs, moved, not copied.
Result<Message> decode_message(std::string_view payload, std::string&& field);

// WORKER_RUN read in place: its hash and arguments are views into the payload, valid
// while it is, so a worker hands the arguments to Lua with no copy in between.
struct WorkerRunView {
  uint64_t key = 0;
  std::string_view hash;
  std::string_view args;
};
// Whether the payload says it is a WORKER_RUN (its first two bytes; not a check).
bool is_worker_run(std::string_view payload);
// Decodes a WORKER_RUN as strictly as decode_message; any other message is an error.
Result<WorkerRunView> decode_worker_run(std::string_view payload);

}  // namespace pp::proto
