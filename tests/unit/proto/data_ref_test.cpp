// Tests of a scattered value's handle (core/proto/data_ref.hpp): its bytes are what
// msgpack-c writes for the ext, handles are found at any depth beside job references,
// each hash listed once, and malformed bodies are refused.
#include "core/proto/data_ref.hpp"

#include <doctest/doctest.h>

#include <map>
#include <msgpack.hpp>
#include <string>
#include <vector>

#include "core/proto/auth.hpp"
#include "core/proto/constants.hpp"
#include "core/proto/job_ref.hpp"

namespace pp::proto {
namespace {

std::string packed(const auto& v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return std::string(b.data(), b.size());
}

DataRef ref_of(const std::string& value) { return DataRef{data_hash(value), value.size()}; }

msgpack::type::ext handle_ext(const DataRef& ref) {
  const std::string body = data_ref_body(ref);
  return msgpack::type::ext(kDataRefExt, body.data(), static_cast<uint32_t>(body.size()));
}

}  // namespace

TEST_CASE("data_ref.bytes_are_msgpack_c_ext8_of_type_2") {
  DataRef ref = ref_of(packed(std::vector<int>{1, 2, 3}));
  std::string mine;
  put_data_ref(mine, ref);
  CHECK(mine == packed(handle_ext(ref)));
  CHECK(mine.size() == 27);
  CHECK(static_cast<unsigned char>(mine[0]) == 0xc7);
  CHECK(mine[1] == 24);
  CHECK(mine[2] == 2);
  auto back = parse_data_ref_body(data_ref_body(ref));
  REQUIRE(back);
  CHECK(back->hash == ref.hash);
  CHECK(back->size == ref.size);
  CHECK_FALSE(parse_data_ref_body("short"));
}

TEST_CASE("data_ref.hash_names_the_content") {
  CHECK(data_hash("abc").size() == kHashSize);
  CHECK(data_hash("abc") == data_hash(std::string("abc")));
  CHECK(data_hash("abc") != data_hash("abd"));
  CHECK(data_hash("abc") != code_hash("abc"));   // values and code never share a name
}

TEST_CASE("data_ref.found_at_any_depth_once_each_beside_job_refs") {
  DataRef a = ref_of("a value"), b = ref_of("another value");
  const std::string jb = job_ref_body(7);
  msgpack::type::ext job(kJobRefExt, jb.data(), static_cast<uint32_t>(jb.size()));
  std::map<std::string, std::vector<msgpack::type::ext>> m{{"k", {handle_ext(b), job}}};
  std::string args = packed(std::make_tuple(1, handle_ext(a), m, "text", handle_ext(a)));
  std::vector<DataRef> found;
  REQUIRE(find_data_refs(args, found));
  REQUIRE(found.size() == 2);
  CHECK(found[0].hash == a.hash);
  CHECK(found[0].size == a.size);
  CHECK(found[1].hash == b.hash);
  // Job references are still found, handles skipped.
  std::vector<JobRefAt> jobs;
  REQUIRE(find_job_refs(args, jobs));
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == 7);
  // A handle's bytes inside a string are no handle.
  std::string inside;
  put_data_ref(inside, a);
  found.clear();
  REQUIRE(find_data_refs(packed(std::make_tuple(inside)), found));
  CHECK(found.empty());
}

TEST_CASE("data_ref.malformed_refused") {
  std::vector<DataRef> found;
  std::string h;
  put_data_ref(h, ref_of("x"));
  CHECK_FALSE(find_data_refs(h.substr(0, h.size() - 1), found));   // truncated
  CHECK_FALSE(find_data_refs(h + "\x01", found));                  // trailing
  // A type 2 of another size is neither a handle nor a reference.
  Status s = find_data_refs(packed(msgpack::type::ext(2, "12345678", 8)), found);
  REQUIRE_FALSE(s);
  CHECK(s.message().find("type 2") != std::string::npos);
}

}  // namespace pp::proto
