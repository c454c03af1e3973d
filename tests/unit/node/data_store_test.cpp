// Tests of the node's store of scattered values (ppserver/data_store.hpp): one copy
// per hash whoever sends it, a hold per client, freed with its last holder, bytes
// checked against their hash, and the limit kept with a message naming sizes.
#include "ppserver/data_store.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/proto/data_ref.hpp"

namespace pp::server {
namespace {

std::string value_of(size_t n, char c) { return std::string(n, c); }

}  // namespace

TEST_CASE("data_store.one_copy_shared_by_clients_freed_with_the_last") {
  DataStore store(1000);
  const std::string v = value_of(300, 'a');
  const std::string h = proto::data_hash(v);
  REQUIRE(store.put(1, h, v));
  REQUIRE(store.put(2, h, v));
  REQUIRE(store.put(2, h, v));   // a second hold by one client counts once
  CHECK(store.values() == 1);
  CHECK(store.bytes() == 300);
  REQUIRE(store.find(1, h) != nullptr);
  CHECK(*store.find(1, h) == v);
  CHECK(store.find(1, h) == store.find(2, h));   // the same bytes
  CHECK(store.find(3, h) == nullptr);            // a client that holds nothing finds nothing
  CHECK_FALSE(store.release(2, h));              // client 1 still holds it
  CHECK(store.find(2, h) == nullptr);
  CHECK_FALSE(store.release(2, h));              // nothing left of 2's hold
  CHECK(store.bytes() == 300);
  CHECK(store.release(1, h));
  CHECK(store.bytes() == 0);
  CHECK(store.values() == 0);
  CHECK_FALSE(store.holds_any(1));
}

// A kept result (SUBMIT's keep): each keep of one value by a client is a hold of its own,
// released one by one; the value stays until the last, and a client that goes frees all.
TEST_CASE("data_store.each_keep_is_a_hold_of_its_own") {
  DataStore store(1000);
  const std::string v = value_of(200, 'k');
  const std::string h = proto::data_hash(v);
  REQUIRE(store.keep(1, h, v));
  REQUIRE(store.keep(1, h, v));   // a second job of client 1 made the same value
  REQUIRE(store.put(1, h, v));    // and a DATA of it counts once, as ever
  CHECK(store.values() == 1);
  CHECK_FALSE(store.release(1, h));
  REQUIRE(store.find(1, h) != nullptr);   // one hold left
  CHECK(store.release(1, h));
  CHECK(store.find(1, h) == nullptr);
  CHECK(store.values() == 0);
  REQUIRE(store.keep(2, h, v));
  REQUIRE(store.keep(2, h, v));
  CHECK(store.release_all(2) == std::vector<std::string>{h});
  CHECK(store.values() == 0);
  CHECK(store.keep(3, h, value_of(2000, 'k')).code() == StatusCode::kTooLarge);
}

TEST_CASE("data_store.a_client_that_goes_frees_what_only_it_held") {
  DataStore store(1000);
  const std::string a = value_of(100, 'a'), b = value_of(200, 'b');
  REQUIRE(store.put(1, proto::data_hash(a), a));
  REQUIRE(store.put(1, proto::data_hash(b), b));
  REQUIRE(store.put(2, proto::data_hash(b), b));
  CHECK(store.holds_any(1));
  CHECK(store.release_all(1) == std::vector<std::string>{proto::data_hash(a)});   // b stays
  CHECK_FALSE(store.holds_any(1));
  CHECK(store.bytes() == 200);
  CHECK(store.find(2, proto::data_hash(b)) != nullptr);
  CHECK(store.release_all(2).size() == 1);
  CHECK(store.bytes() == 0);
  CHECK(store.release_all(3).empty());
}

TEST_CASE("data_store.bytes_must_have_their_hash") {
  DataStore store(1000);
  Status s = store.put(1, proto::data_hash("honest"), "forged");
  REQUIRE_FALSE(s);
  CHECK(s.code() == StatusCode::kInvalid);
  CHECK(store.values() == 0);
}

TEST_CASE("data_store.limit_kept_with_sizes_named") {
  DataStore store(1000);
  const std::string big = value_of(1001, 'x');
  Status s = store.put(1, proto::data_hash(big), big);
  REQUIRE_FALSE(s);
  CHECK(s.code() == StatusCode::kTooLarge);
  CHECK(s.message().find("1,001 bytes") != std::string::npos);
  CHECK(s.message().find("1,000 bytes") != std::string::npos);
  CHECK(s.message().find("--data-cache") != std::string::npos);
  const std::string a = value_of(600, 'a'), b = value_of(600, 'b');
  REQUIRE(store.put(1, proto::data_hash(a), a));
  s = store.put(2, proto::data_hash(b), b);   // fits alone, not beside a
  REQUIRE_FALSE(s);
  CHECK(s.message().find("holds 600 bytes") != std::string::npos);
  CHECK(store.find(1, proto::data_hash(a)) != nullptr);   // nothing held was dropped for it
  CHECK(store.put(2, proto::data_hash(a), a));             // a value already held fits
  CHECK(store.release_all(1).empty());
  CHECK(store.release_all(2).size() == 1);
  CHECK(store.put(2, proto::data_hash(b), b));             // room again
}

}  // namespace pp::server
