#include "core/proto/clients_codec.hpp"

#include <algorithm>

namespace pp::proto {
namespace {

constexpr uint32_t kEntryFields = 6;

void pack_str(StringPacker& pk, const std::string& s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

std::string str_of(const msgpack::object& o) {
  if (o.type != msgpack::type::STR || o.via.str.size > kMaxClientString) {
    throw msgpack::type_error();
  }
  return std::string(o.via.str.ptr, o.via.str.size);
}

uint64_t u64_of(const msgpack::object& o) {
  if (o.type != msgpack::type::POSITIVE_INTEGER) throw msgpack::type_error();
  return o.via.u64;
}

}  // namespace

void pack_client_list(StringPacker& pk, const std::vector<ClientInfo>& clients) {
  const size_t n = std::min(clients.size(), kMaxClientsListed);
  pk.pack_array(static_cast<uint32_t>(n));
  for (size_t i = 0; i < n; ++i) {
    const ClientInfo& c = clients[i];
    pk.pack_array(kEntryFields);
    pack_str(pk, c.host), pack_str(pk, c.address), pack_str(pk, c.client_id);
    pk.pack(c.queued), pk.pack(c.running), pk.pack(c.connected_ms);
  }
}

std::vector<ClientInfo> unpack_client_list(const msgpack::object& list) {
  if (list.type != msgpack::type::ARRAY || list.via.array.size > kMaxClientsListed) {
    throw msgpack::type_error();
  }
  std::vector<ClientInfo> out;
  out.reserve(list.via.array.size);
  for (uint32_t i = 0; i < list.via.array.size; ++i) {
    const msgpack::object& e = list.via.array.ptr[i];
    if (e.type != msgpack::type::ARRAY || e.via.array.size != kEntryFields) {
      throw msgpack::type_error();
    }
    const msgpack::object* f = e.via.array.ptr;
    out.push_back(ClientInfo{str_of(f[0]), str_of(f[1]), str_of(f[2]), u64_of(f[3]), u64_of(f[4]),
                             u64_of(f[5])});
  }
  return out;
}

}  // namespace pp::proto
