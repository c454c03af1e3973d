#include "ppclient/src/code_blob.hpp"

#include <doctest/doctest.h>
#include <msgpack.hpp>

#include <map>
#include <string>

namespace pp::client {
namespace {

// The blob read back as a map of msgpack objects, checking every key is a str.
std::map<std::string, msgpack::object> fields(const msgpack::object_handle& h) {
  const msgpack::object& o = h.get();
  REQUIRE(o.type == msgpack::type::MAP);
  std::map<std::string, msgpack::object> out;
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    REQUIRE(o.via.map.ptr[i].key.type == msgpack::type::STR);
    out[o.via.map.ptr[i].key.as<std::string>()] = o.via.map.ptr[i].val;
  }
  return out;
}

TEST_CASE("client.code_blob.has_the_five_keys_of_the_protocol") {
  std::string bytecode("\x1bLJ\x02\x00\xff", 6);   // any bytes travel
  CodeBlob code{"bytecode", "script.lua:12", bytecode, {{"helper", "\x1bLJ"}}, {{"native", "pp.native"}}};
  std::string blob = encode_code_blob(code);
  msgpack::object_handle h = msgpack::unpack(blob.data(), blob.size());
  auto f = fields(h);
  CHECK(f.size() == 5);
  CHECK(f.at("kind").as<std::string>() == "bytecode");
  CHECK(f.at("name").as<std::string>() == "script.lua:12");
  CHECK(f.at("main").type == msgpack::type::STR);
  CHECK(f.at("main").as<std::string>() == bytecode);
  CHECK(f.at("deps").as<std::map<std::string, std::string>>() == code.deps);
  CHECK(f.at("mods").as<std::map<std::string, std::string>>() == code.mods);
}

TEST_CASE("client.code_blob.empty_maps_and_stable_bytes") {
  CodeBlob code{"source", "job", "function(x) return x end", {}, {}};
  std::string a = encode_code_blob(code);
  CHECK(a == encode_code_blob(code));   // the code hash depends on it
  msgpack::object_handle h = msgpack::unpack(a.data(), a.size());
  auto f = fields(h);
  CHECK(f.at("deps").type == msgpack::type::MAP);
  CHECK(f.at("deps").via.map.size == 0);
  CHECK(f.at("mods").via.map.size == 0);
  // Map order does not depend on insertion order.
  CodeBlob x{"source", "job", "f", {{"a", "1"}, {"b", "2"}}, {}};
  CodeBlob y{"source", "job", "f", {{"b", "2"}, {"a", "1"}}, {}};
  CHECK(encode_code_blob(x) == encode_code_blob(y));
}

}  // namespace
}  // namespace pp::client
