#include "ppserver/data_store.hpp"

#include "core/proto/auth.hpp"
#include "core/proto/data_ref.hpp"
#include "core/util/byte_count.hpp"

namespace pp::server {

Status DataStore::put(uint64_t client, const std::string& hash, std::string bytes) {
  return hold(client, hash, std::move(bytes), false);
}

Status DataStore::keep(uint64_t client, const std::string& hash, std::string bytes) {
  return hold(client, hash, std::move(bytes), true);
}

Status DataStore::hold(uint64_t client, const std::string& hash, std::string bytes,
                       bool counted) {
  auto it = entries_.find(hash);
  if (it == entries_.end()) {
    if (bytes.size() > limit_ - std::min(limit_, bytes_)) {
      std::string why = "a scattered value of " + with_commas(bytes.size()) +
                        " bytes does not fit this node's data cache of " +
                        with_commas(limit_) + " bytes (ppserver --data-cache)";
      if (bytes_ > 0 && bytes.size() <= limit_) {
        why += ", which holds " + with_commas(bytes_) + " bytes of " +
               std::to_string(entries_.size()) + " other values now";
      }
      return Status(StatusCode::kTooLarge, why);
    }
    if (proto::data_hash(bytes) != hash) {
      return Status(StatusCode::kInvalid,
                    "a scattered value's bytes do not have the hash they came with (" +
                        proto::to_hex(hash) + ")");
    }
    bytes_ += bytes.size();
    it = entries_.emplace(hash, Entry{std::make_shared<const std::string>(std::move(bytes)), {}})
             .first;
  }
  auto [h, fresh] = it->second.holders.try_emplace(client, 1);
  if (!fresh && counted) ++h->second;
  clients_[client].insert(hash);
  return Status::ok();
}

DataStore::Bytes DataStore::find(uint64_t client, const std::string& hash) const {
  auto it = entries_.find(hash);
  if (it == entries_.end() || it->second.holders.count(client) == 0) return nullptr;
  return it->second.bytes;
}

bool DataStore::release(uint64_t client, const std::string& hash) {
  auto c = clients_.find(client);
  if (c == clients_.end() || c->second.count(hash) == 0) return false;
  auto it = entries_.find(hash);
  if (it == entries_.end()) return false;
  auto h = it->second.holders.find(client);
  if (h != it->second.holders.end() && --h->second > 0) return false;   // held again
  c->second.erase(hash);
  if (c->second.empty()) clients_.erase(c);
  it->second.holders.erase(client);
  if (!it->second.holders.empty()) return false;
  drop(it);
  return true;
}

std::vector<std::string> DataStore::release_all(uint64_t client) {
  std::vector<std::string> freed;
  auto c = clients_.find(client);
  if (c == clients_.end()) return freed;
  for (const std::string& hash : c->second) {
    auto it = entries_.find(hash);
    if (it == entries_.end()) continue;
    it->second.holders.erase(client);
    if (it->second.holders.empty()) {
      drop(it);
      freed.push_back(hash);
    }
  }
  clients_.erase(c);
  return freed;
}

void DataStore::drop(std::unordered_map<std::string, Entry>::iterator it) {
  bytes_ -= it->second.bytes->size();
  entries_.erase(it);
}

}  // namespace pp::server
