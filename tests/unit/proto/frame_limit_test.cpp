// Tests of the frame-limit rule for jobs: the envelope bounds hold for the codec's largest
// encodings, fits_frame is exact at the edge and never overflows, and the messages name the
// job, what is too large, its size, whose limit it is and the limit, with grouped digits.
#include "core/proto/frame_limit.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>

#include "core/proto/codec.hpp"
#include "core/util/byte_count.hpp"

namespace pp::proto {
namespace {

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kMaxU32 = std::numeric_limits<uint32_t>::max();

size_t payload_size(const Message& m) {
  std::string frame;
  encode_frame(m, frame);
  return frame.size() - kHeaderSize;
}

}  // namespace

TEST_CASE("proto.frame_limit.envelopes_bound_the_codec") {
  // Every field at its widest encoding, the carried bytes long enough for 32-bit lengths.
  const std::string big(70000, 'x');
  Submit s{.job_id = kMaxU64,
           .hash = std::string(kHashSize, 'h'),
           .args = big,
           .timeout_ms = kMaxU32};
  CHECK(payload_size(s) - big.size() <= kSubmitEnvelope);
  CHECK(payload_size(CodeMsg{std::string(kHashSize, 'h'), big}) - big.size() <= kCodeEnvelope);
  ResultMsg r{.job_id = kMaxU64,
              .status = JobStatus::kLuaError,
              .value = big,
              .error = big,
              .traceback = big,
              .cpu_us = kMaxU64,
              .wall_us = kMaxU64,
              .worker = kMaxU32,
              .output = big};
  CHECK(payload_size(r) - 4 * big.size() <= kResultEnvelope);
}

TEST_CASE("proto.frame_limit.fits_frame_is_exact_at_the_edge") {
  CHECK(fits_frame(1000000 - kSubmitEnvelope, kSubmitEnvelope, 1000000));
  CHECK_FALSE(fits_frame(1000000 - kSubmitEnvelope + 1, kSubmitEnvelope, 1000000));
  CHECK_FALSE(fits_frame(2000000, kSubmitEnvelope, 1000000));
  CHECK_FALSE(fits_frame(0, kSubmitEnvelope, 10));  // the envelope alone is too large
  // No limit lets a frame past what its 4-byte length can announce, and nothing wraps.
  CHECK(fits_frame(kMaxWireFrame - kSubmitEnvelope, kSubmitEnvelope, kMaxU64));
  CHECK_FALSE(fits_frame(kMaxWireFrame, kSubmitEnvelope, kMaxU64));
  CHECK_FALSE(fits_frame(std::numeric_limits<size_t>::max(), kSubmitEnvelope, kMaxU64));
}

TEST_CASE("proto.frame_limit.messages_name_job_size_and_limit") {
  CHECK(too_large(17, "its arguments are", 73400320, "node 127.0.0.1:60000's", 67108864,
                  " (ppserver --max-frame)") ==
        "job 17: its arguments are 73,400,320 bytes, over node 127.0.0.1:60000's frame limit "
        "of 67,108,864 bytes (ppserver --max-frame)");
  CHECK(job_too_large(3, 100, 100, 1000000, "node a:1's", "").empty());
  CHECK(job_too_large(3, 100, 2000000, 1000000, "node a:1's", "") ==
        "job 3: its arguments are 2,000,000 bytes, over node a:1's frame limit of 1,000,000 "
        "bytes");
  CHECK(job_too_large(3, 2000000, 100, 1000000, "node a:1's", "").find("its code is 2,000,000") !=
        std::string::npos);
}

TEST_CASE("proto.frame_limit.with_commas_groups_digits") {
  CHECK(with_commas(0) == "0");
  CHECK(with_commas(999) == "999");
  CHECK(with_commas(1000) == "1,000");
  CHECK(with_commas(4096) == "4,096");
  CHECK(with_commas(67108864) == "67,108,864");
  CHECK(with_commas(kMaxU64) == "18,446,744,073,709,551,615");
}

}  // namespace pp::proto
