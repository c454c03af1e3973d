#include "ppserver/worker_identity.hpp"

namespace pp::server {

std::string worker_id(const std::string& node, int index) {
  return node + "#" + std::to_string(index + 1);
}

void install_worker_identity(lua_State* L, const std::string& node, int index) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "loaded");
  lua_createtable(L, 0, 2);
  std::string id = worker_id(node, index);
  lua_pushlstring(L, id.data(), id.size());
  lua_setfield(L, -2, "id");
  lua_pushlstring(L, node.data(), node.size());
  lua_setfield(L, -2, "node");
  lua_setfield(L, -2, "pp.worker_identity");
  lua_pop(L, 2);
}

}  // namespace pp::server
