// Tests of the job reference inside msgpack arguments (core/proto/job_ref.hpp): its bytes
// are what msgpack-c writes for the ext, references are found at any depth (and only
// as values, never inside strings), replaced by values, and anything malformed or any
// other ext is refused with a message.
#include "core/proto/job_ref.hpp"

#include <doctest/doctest.h>

#include <map>
#include <msgpack.hpp>
#include <string>
#include <vector>

namespace pp::proto {
namespace {

std::string packed(const auto& v) {
  msgpack::sbuffer b;
  msgpack::pack(b, v);
  return std::string(b.data(), b.size());
}

// A msgpack-c ext value: a reference when type 1 and 8 bytes.
msgpack::type::ext ref_ext(uint64_t id) {
  const std::string body = job_ref_body(id);
  return msgpack::type::ext(kJobRefExt, body.data(), static_cast<uint32_t>(body.size()));
}

}  // namespace

TEST_CASE("job_ref.bytes_are_msgpack_c_fixext8_of_type_1") {
  std::string mine;
  put_job_ref(mine, 0x0102030405060708ULL);
  CHECK(mine == packed(ref_ext(0x0102030405060708ULL)));
  CHECK(mine.size() == 10);
  CHECK(static_cast<unsigned char>(mine[0]) == 0xd7);
  CHECK(mine[1] == 1);
}

TEST_CASE("job_ref.found_at_any_depth_and_not_inside_strings") {
  // [1, "\xd7\x01...", {"a": [ref 7, ref 9]}, ref 7]: the string holds a reference's
  // bytes but is a string.
  std::string fake;
  put_job_ref(fake, 99);
  std::map<std::string, std::vector<msgpack::type::ext>> m{{"a", {ref_ext(7), ref_ext(9)}}};
  std::string args = packed(std::make_tuple(1, fake, m, ref_ext(7)));
  std::vector<JobRefAt> refs;
  REQUIRE(find_job_refs(args, refs));
  REQUIRE(refs.size() == 3);
  CHECK(refs[0].id == 7);
  CHECK(refs[1].id == 9);
  CHECK(refs[2].id == 7);

  auto out = substitute_job_refs(args, {{7, packed(49)}, {9, packed("nine")}});
  REQUIRE(out);
  msgpack::object_handle h = msgpack::unpack(out->data(), out->size());
  auto t = h.get().as<std::tuple<int, std::string, std::map<std::string, std::vector<msgpack::object>>, int>>();
  CHECK(std::get<0>(t) == 1);
  CHECK(std::get<1>(t) == fake);
  CHECK(std::get<2>(t).at("a")[0].as<int>() == 49);
  CHECK(std::get<2>(t).at("a")[1].as<std::string>() == "nine");
  CHECK(std::get<3>(t) == 49);
}

TEST_CASE("job_ref.big_containers_and_every_scalar_kind_are_walked") {
  std::vector<std::string> strs{std::string(40, 'x'), std::string(300, 'y'), std::string(70000, 'z')};
  std::vector<char> bin(300, 'b');
  auto v = std::make_tuple(std::vector<int>(20, 5), std::vector<int>(70000, 1), -1, -100, 300,
                           -40000, 70000, 1LL << 40, -(1LL << 40), 1.5f, 2.5, true, false,
                           msgpack::type::nil_t(), strs, bin, ref_ext(3));
  std::string args = packed(v);
  std::vector<JobRefAt> refs;
  REQUIRE(find_job_refs(args, refs));
  REQUIRE(refs.size() == 1);
  CHECK(refs[0].id == 3);
  CHECK(refs[0].offset + refs[0].size == args.size());
}

TEST_CASE("job_ref.a_reference_without_a_value_and_malformed_bytes_are_refused") {
  std::string args = packed(std::make_tuple(ref_ext(5)));
  auto out = substitute_job_refs(args, {{4, packed(1)}});
  REQUIRE_FALSE(out);
  CHECK(out.status().message().find("job 5") != std::string::npos);

  std::vector<JobRefAt> refs;
  CHECK_FALSE(find_job_refs(args.substr(0, args.size() - 1), refs));     // truncated
  CHECK_FALSE(find_job_refs(args + "\x01", refs));                       // trailing
  CHECK_FALSE(find_job_refs(std::string("\xc1", 1), refs));              // reserved byte
  CHECK_FALSE(find_job_refs(std::string("\xdd\xff\xff\xff\xff", 5), refs));   // huge count
  // Another ext type, or a type 1 of another size, is not a reference.
  auto other = packed(msgpack::type::ext(2, "12345678", 8));
  Status s = find_job_refs(other, refs);
  REQUIRE_FALSE(s);
  CHECK(s.message().find("type 2") != std::string::npos);
  CHECK_FALSE(find_job_refs(packed(msgpack::type::ext(1, "1234", 4)), refs));
}

TEST_CASE("job_ref.first_element_of_a_jobs_values") {
  CHECK(*first_element(packed(std::make_tuple(7, "x"))) == packed(7));
  CHECK(*first_element(packed(std::make_tuple(std::vector<int>{1, 2}))) ==
        packed(std::vector<int>{1, 2}));
  CHECK(*first_element(packed(std::vector<int>{})) == std::string("\xc0", 1));
  CHECK(*first_element(packed(std::vector<int>(20, 4))) == packed(4));   // array 16 header
  CHECK(*first_element("") == std::string("\xc0", 1));
  CHECK_FALSE(first_element(packed(5)));                     // not an array
  CHECK_FALSE(first_element(std::string("\x91", 1)));        // truncated
}

}  // namespace pp::proto
