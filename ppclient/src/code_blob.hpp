// The code blob: how a job's function travels in CODE (docs/protocol.md, "Code blob"),
// written here and only here, for both drivers: pp::Code::lua (Lua source) and the Lua
// module's js:submit (LuaJIT bytecode, through pp.core.code_blob). The node never reads
// it; its workers do (lua/pp/worker.lua). Pure: msgpack only, reentrant.
//
//   std::string blob = encode_code_blob({"source", "job", "function(x) return x end", {}, {}});
#pragma once

#include <map>
#include <string>

namespace pp::client {

struct CodeBlob {
  std::string kind;                          // "bytecode" or "source"
  std::string name;                          // a label for messages, e.g. "script.lua:12"
  std::string main;                          // the job function
  std::map<std::string, std::string> deps;   // global name → function (same kind)
  std::map<std::string, std::string> mods;   // global alias → module name
};

// A msgpack map of five keys (kind, name, main, deps, mods), strings as msgpack str;
// equal blobs for equal CodeBlobs, so a code's hash is stable.
std::string encode_code_blob(const CodeBlob& code);

}  // namespace pp::client
