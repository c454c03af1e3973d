// CLIENTS' list of client sessions in msgpack, for the frame codec (codec.cpp) alone: one
// array of entries, each an array of ClientInfo's six fields in order (docs/protocol.md,
// CLIENTS). Kept apart so the codec's table of frames stays one screenful per concept.
#pragma once

#include <vector>

#include "core/proto/messages.hpp"
#include "core/proto/msgpack_util.hpp"

namespace pp::proto {

// Writes at most kMaxClientsListed entries (a frame it writes always decodes).
void pack_client_list(StringPacker& pk, const std::vector<ClientInfo>& clients);
// Strict: an entry that is not an array of exactly six fields of the right types, a
// string over kMaxClientString bytes or more than kMaxClientsListed entries throws
// msgpack::type_error (decode_message turns it into kInvalid).
std::vector<ClientInfo> unpack_client_list(const msgpack::object& list);

}  // namespace pp::proto
