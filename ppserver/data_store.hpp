// DataStore: the node's scattered values (js:scatter, Cluster::scatter), by content
// hash, shared by the node's clients and bounded by --data-cache.
//
// A client sends a value once per connection (DATA: hash and msgpack bytes); the
// store checks that the bytes have that hash (the store is shared, so a value under
// a false name would reach other clients' jobs) and keeps one copy however many
// clients hold it. Each client's hold is counted once: a value is freed when the
// last client holding it releases it (DATA_RELEASE) or disconnects (release_all).
// What is held never exceeds the limit: a value that would not fit is refused, with
// its size, the limit and what is held, and nothing already held is dropped for it.
// The bytes are shared (shared_ptr) with the jobs that need them on their way to a
// worker, so a release while such a job waits only ends the store's hold.
//
// Pure (no Asio, no sockets): owned by the Node, used on its io thread only.
//
//   DataStore store(256 << 20);
//   if (Status s = store.put(client, hash, std::move(bytes)); !s) refuse(s.message());
//   DataStore::Bytes b = store.find(hash);   // for a job of `client` that names it
//   store.release_all(client);               // the client went away
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/util/status.hpp"

namespace pp::server {

class DataStore {
 public:
  using Bytes = std::shared_ptr<const std::string>;

  explicit DataStore(uint64_t limit_bytes) : limit_(limit_bytes) {}

  // `client` holds the value `bytes` named `hash`. Fails (kInvalid) when the bytes do
  // not have that hash, and (kTooLarge) when the value does not fit beside what is
  // held; a value already held is not stored again, and a client's second hold of
  // a value counts once.
  Status put(uint64_t client, const std::string& hash, std::string bytes);
  // A result `client` asked the node to keep (SUBMIT's keep): as put, but every keep of
  // a value counts, and takes a release of its own (two jobs of a client may make the
  // same value, and the client releases each when it is done with it).
  Status keep(uint64_t client, const std::string& hash, std::string bytes);
  // The value named `hash` if `client` holds it, else null.
  Bytes find(uint64_t client, const std::string& hash) const;
  // Ends one of `client`'s holds of `hash` (nothing if it held none); true if that freed it.
  bool release(uint64_t client, const std::string& hash);
  // Ends every hold of `client`; returns the hashes of the values that freed.
  std::vector<std::string> release_all(uint64_t client);
  // Whether `client` holds anything (a job of a client holding nothing names no value).
  bool holds_any(uint64_t client) const { return clients_.count(client) != 0; }

  uint64_t bytes() const { return bytes_; }      // held, in total
  size_t values() const { return entries_.size(); }
  uint64_t limit() const { return limit_; }

 private:
  struct Entry {
    Bytes bytes;
    std::unordered_map<uint64_t, uint32_t> holders;   // client -> holds (keeps count)
  };
  Status hold(uint64_t client, const std::string& hash, std::string bytes, bool counted);
  void drop(std::unordered_map<std::string, Entry>::iterator it);

  uint64_t limit_;
  uint64_t bytes_ = 0;
  std::unordered_map<std::string, Entry> entries_;                        // hash -> value
  std::unordered_map<uint64_t, std::unordered_set<std::string>> clients_;  // client -> hashes
};

}  // namespace pp::server
