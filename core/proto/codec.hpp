// Encoding and decoding of protocol messages: pure functions over bytes.
//
// A frame is a 4-byte big-endian payload length followed by the payload, one
// msgpack array [type, fields...]. encode_frame() appends a whole frame to a
// caller-owned buffer so many frames can be batched into one write.
// decode_message() is strict: wrong types, missing fields, unknown message
// types and trailing bytes are errors (StatusCode::kInvalid), never exceptions.
#pragma once

#include <string>
#include <string_view>

#include "core/proto/messages.hpp"
#include "core/util/status.hpp"

namespace pp::proto {

// Appends the frame carrying `m` to `out`.
void encode_frame(const Message& m, std::string& out);
// Decodes one frame payload (without its length header).
Result<Message> decode_message(std::string_view payload);

}  // namespace pp::proto
