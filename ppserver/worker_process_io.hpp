// The worker's blocking writes to its node's socket: whole buffers, and buffers with large
// fields spliced in (a RESULT whose value is written from where it lies, not copied).
// Plain functions over a file descriptor; EINTR is retried, any other failure is false.
#pragma once

#include <string>
#include <vector>

#include "core/proto/codec.hpp"

namespace pp::server {

bool write_all(int fd, const std::string& bytes);
// Writes `bytes` with each splice's bytes at its place, in as few writev calls as the
// kernel takes.
bool write_gathered(int fd, const std::string& bytes, const std::vector<proto::Splice>& splices);

}  // namespace pp::server
