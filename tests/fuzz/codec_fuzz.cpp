// libFuzzer harness for pp::proto::decode_message (core/proto/codec.*).
//
// The input is one frame payload. decode_message must either refuse it with
// kInvalid and a message, or return a message whose encoding is a fixed point:
// encode_frame() writes a correct length header, its payload decodes again to a
// message of the same type, and that message encodes to the very same bytes.
// (The input itself need not come back byte for byte: msgpack has several
// encodings of one value, and HELLO skips unknown keys.) decode_worker_run, the
// worker's in-place decoder, must agree with decode_message on every input: the same
// WORKER_RUN fields, or a kInvalid refusal of anything else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/proto/codec.hpp"
#include "core/proto/constants.hpp"
#include "core/proto/messages.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace pp::proto;

uint32_t header_length(std::string_view frame) {
  const auto* h = reinterpret_cast<const unsigned char*>(frame.data());
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  pp::Result<Message> first = decode_message(payload);
  pp::Result<WorkerRunView> view = decode_worker_run(payload);
  const auto* run = first ? std::get_if<WorkerRun>(&*first) : nullptr;
  PP_FUZZ_CHECK(view.has_value() == (run != nullptr));
  if (run != nullptr) {
    PP_FUZZ_CHECK(view->key == run->key && view->hash == run->hash && view->args == run->args);
  } else {
    PP_FUZZ_CHECK(view.status().code() == pp::StatusCode::kInvalid);
  }
  if (!first) {
    PP_FUZZ_CHECK(first.status().code() == pp::StatusCode::kInvalid);
    PP_FUZZ_CHECK(!first.status().message().empty());
    return 0;
  }
  std::string frame;
  encode_frame(*first, frame);
  PP_FUZZ_CHECK(frame.size() > kHeaderSize);
  PP_FUZZ_CHECK(header_length(frame) == frame.size() - kHeaderSize);

  pp::Result<Message> second = decode_message(std::string_view(frame).substr(kHeaderSize));
  PP_FUZZ_CHECK(second.has_value());
  PP_FUZZ_CHECK(type_of(*second) == type_of(*first));
  std::string again;
  encode_frame(*second, again);
  PP_FUZZ_CHECK(again == frame);
  return 0;
}
