// Small msgpack-c helpers shared by the frame codec and the discovery beacon:
// a packer target that appends to a std::string, and an unpack reference policy
// that points str/bin objects into the input buffer instead of copying them
// (the buffer must then outlive the unpacked objects).
#pragma once

#include <cstddef>
#include <msgpack.hpp>
#include <string>

namespace pp::proto {

struct StringSink {
  std::string& out;
  void write(const char* p, size_t n) { out.append(p, n); }
};
using StringPacker = msgpack::packer<StringSink>;

inline bool reference_all(msgpack::type::object_type, std::size_t, void*) { return true; }

}  // namespace pp::proto
