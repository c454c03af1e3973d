// A scattered value's handle inside a job's msgpack arguments: the one format of it.
//
// A driver that scatters a value (js:scatter, Cluster::scatter) sends its msgpack
// bytes to a node once (DATA), and a job names it by this handle at any depth of its
// arguments: msgpack ext type kDataRefExt whose 24 bytes are the value's content hash
// (kHashSize bytes, data_hash()) and its size in bytes (8, big-endian); packers write
// it as ext 8: c7 18 02 <hash> <size>. Unlike a job reference (job_ref.hpp) it travels
// to the node and its worker, which hands the job the value itself (the worker's
// decoder resolves the handle; the node only lists the handles of a job to send its
// worker the bytes first).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/status.hpp"

namespace pp::proto {

inline constexpr int8_t kDataRefExt = 2;
inline constexpr size_t kDataRefBodySize = 24;   // hash (16) + size (8)

struct DataRef {
  std::string hash;   // kHashSize bytes
  uint64_t size = 0;  // of the value's msgpack bytes
};

// The content hash of a scattered value's msgpack bytes (kHashSize bytes).
std::string data_hash(std::string_view bytes);
// Appends the handle of `ref` (27 bytes).
void put_data_ref(std::string& out, const DataRef& ref);
// The 24 bytes of a handle's body (the ext payload).
std::string data_ref_body(const DataRef& ref);
// A handle's body read back; fails unless it is exactly kDataRefBodySize bytes.
Result<DataRef> parse_data_ref_body(std::string_view body);

// Walks `bytes`, one complete msgpack value (or `values` of them in a row), and lists
// the handles it holds in order, each distinct hash once. Fails as find_job_refs does
// (job references are allowed and skipped).
Status find_data_refs(std::string_view bytes, std::vector<DataRef>& out, uint64_t values = 1);

}  // namespace pp::proto
