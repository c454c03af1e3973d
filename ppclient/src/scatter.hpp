// Scattered values as the driver holds them (js:scatter, Cluster::scatter).
//
// A SharedData is one value's msgpack bytes and content hash; handles (the Lua
// userdata, pp::Shared) and the jobs whose arguments name it (SubmitExtras::data)
// share it, so it lives while any of them does. The DataRegistry keeps the live ones
// by hash: scattering the same content again gives the same record (one hold on the
// nodes, however many handles), and when the last holder lets go it calls `release`
// (the JobServer then tells every node that has it: DATA_RELEASE). Which node was
// sent which value is each NodeLink's business (DATA once per connection).
// Thread-safe: handles are made and dropped on user threads (and by Lua's collector).
//
//   auto reg = std::make_shared<DataRegistry>([&](const std::string& h) { post(h); });
//   std::shared_ptr<const SharedData> v = reg->make(std::move(bytes));
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace pp::client {

class DataRegistry;

struct SharedData {
  std::string hash;                             // proto::data_hash(*bytes)
  std::shared_ptr<const std::string> bytes;     // shared with the DATA frames being written
  std::weak_ptr<DataRegistry> registry;         // told when the last holder lets go
  uint64_t size() const { return bytes->size(); }
  ~SharedData();
};

class DataRegistry : public std::enable_shared_from_this<DataRegistry> {
 public:
  // Called (on whatever thread lets go) with the hash of a value no one holds any more.
  using Release = std::function<void(const std::string& hash)>;
  explicit DataRegistry(Release release) : release_(std::move(release)) {}

  // The live record of these bytes' content, or a new one (`fresh` says which).
  std::shared_ptr<const SharedData> make(std::string bytes, bool* fresh = nullptr);
  // From now on nothing is released (the cluster is closing: its links go anyway).
  void close();
  size_t live() const;

 private:
  friend struct SharedData;
  void released(const std::string& hash);

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<const SharedData>> live_;
  Release release_;
  bool closed_ = false;
};

}  // namespace pp::client
