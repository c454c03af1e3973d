// A reference to a job inside a job's msgpack arguments: the one format of it.
//
// A driver that passes a job as an argument of another (a dependency) writes this in
// its place: msgpack ext type kJobRefExt whose 8 bytes are the job id, big-endian
// (packers write it as fixext 8: d7 01 <id>). It never leaves the driver: before the
// dependent job is sent, each reference is replaced by the input job's first return
// value (nil when it returned none), so nodes and workers, whose decoders refuse ext
// types, never see one. Issue 13's data handles will be further ext types beside it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/status.hpp"

namespace pp::proto {

inline constexpr int8_t kJobRefExt = 1;
inline constexpr size_t kJobRefBodySize = 8;

// Appends the reference to job `id` (10 bytes).
void put_job_ref(std::string& out, uint64_t id);
// The 8 bytes of a reference's body (the ext payload) for job `id`.
std::string job_ref_body(uint64_t id);

// A reference found in msgpack bytes: where it is and whom it names.
struct JobRefAt {
  size_t offset = 0, size = 0;
  uint64_t id = 0;
};

// Walks `bytes`, one complete msgpack value (or `values` of them in a row), and lists
// its job references in order. Fails on truncated or malformed bytes, trailing bytes,
// and any ext type other than a well-formed reference.
Status find_job_refs(std::string_view bytes, std::vector<JobRefAt>& out, uint64_t values = 1);

// `bytes` with each reference replaced by the value of its job: `values` holds
// (id, msgpack value) sorted by id. A reference to a job not in `values` is an error.
Result<std::string> substitute_job_refs(
    std::string_view bytes, const std::vector<std::pair<uint64_t, std::string>>& values);

// The first element of the msgpack array `array` (a job's returned values), as its
// bytes; nil ("\xc0") when the array is empty.
Result<std::string> first_element(std::string_view array);
// Where that first element lies in `array`: (offset, size); size 0 when the array is
// empty.
Result<std::pair<size_t, size_t>> first_element_span(std::string_view array);

}  // namespace pp::proto
