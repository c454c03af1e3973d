// Frame limits as they apply to jobs: whether a job's code, arguments or returned
// values fit the frame limit a peer announced in its HELLO (Hello::max_frame), and the
// message that says so when they do not. The one place for this rule and its wording
// (docs/protocol.md, "Limits"): the client checks a job before it sends it, the node
// checks a result before it sends it back. Pure functions; thread-safe.
//
//   if (!proto::fits_frame(args.size(), proto::kSubmitEnvelope, limit))
//     fail(proto::too_large(id, "its arguments are", args.size(), "node " + name + "'s", limit,
//                           " (ppserver --max-frame)"));
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/proto/constants.hpp"
#include "core/util/byte_count.hpp"

namespace pp::proto {

// True when `bytes` sent in one frame with at most `envelope` bytes around them stay
// within `limit` (and within what a frame's 4-byte length can announce).
inline bool fits_frame(size_t bytes, size_t envelope, uint64_t limit) {
  uint64_t cap = limit < kMaxWireFrame ? limit : kMaxWireFrame;
  return bytes <= cap && cap - bytes >= envelope;
}

// "job 17: its arguments are 2,000,000 bytes, over node h:1's frame limit of
// 1,000,000 bytes (ppserver --max-frame)". `what_is` says what is too large ("its
// arguments are", "its code is"); `whose` names the limit's owner ("node h:1's", "the
// client's"); `hint` says how to change it (may be empty).
inline std::string too_large(uint64_t job_id, std::string_view what_is, size_t bytes,
                             std::string_view whose, uint64_t limit, std::string_view hint) {
  std::string out = "job " + std::to_string(job_id) + ": " + std::string(what_is) + " " +
                    with_commas(bytes) + " bytes, over " + std::string(whose) + " frame limit of " +
                    with_commas(limit) + " bytes";
  out += hint;
  return out;
}

// Why a job cannot travel to a peer whose frames are limited to `limit`: its code
// (one CODE frame) or its arguments (one SUBMIT frame) do not fit. "" when both fit.
inline std::string job_too_large(uint64_t job_id, size_t code_bytes, size_t args_bytes,
                                 uint64_t limit, std::string_view whose, std::string_view hint) {
  if (!fits_frame(args_bytes, kSubmitEnvelope, limit)) {
    return too_large(job_id, "its arguments are", args_bytes, whose, limit, hint);
  }
  if (!fits_frame(code_bytes, kCodeEnvelope, limit)) {
    return too_large(job_id, "its code is", code_bytes, whose, limit, hint);
  }
  return {};
}

}  // namespace pp::proto
