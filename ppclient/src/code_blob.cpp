#include "ppclient/src/code_blob.hpp"

#include <msgpack.hpp>

namespace pp::client {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_string_map(Packer& pk, const std::map<std::string, std::string>& m) {
  pk.pack_map(static_cast<uint32_t>(m.size()));
  for (const auto& [k, v] : m) {
    pk.pack(k);
    pk.pack(v);
  }
}

}  // namespace

std::string encode_code_blob(const CodeBlob& code) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_map(5);
  pk.pack(std::string_view("kind"));
  pk.pack(code.kind);
  pk.pack(std::string_view("name"));
  pk.pack(code.name);
  pk.pack(std::string_view("main"));
  pk.pack(code.main);
  pk.pack(std::string_view("deps"));
  pack_string_map(pk, code.deps);
  pk.pack(std::string_view("mods"));
  pack_string_map(pk, code.mods);
  return std::string(buf.data(), buf.size());
}

}  // namespace pp::client
