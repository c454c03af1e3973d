#include "ppserver/worker_process_io.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace pp::server {

bool write_gathered(int fd, const std::string& bytes, const std::vector<proto::Splice>& splices) {
  std::vector<iovec> iov;
  size_t pos = 0;
  for (const auto& s : splices) {
    iov.push_back({const_cast<char*>(bytes.data()) + pos, s.at - pos});
    iov.push_back({const_cast<char*>(s.bytes.data()), s.bytes.size()});
    pos = s.at;
  }
  iov.push_back({const_cast<char*>(bytes.data()) + pos, bytes.size() - pos});
  size_t i = 0;
  while (i < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - i, IOV_MAX));
    ssize_t n = ::writev(fd, iov.data() + i, count);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    auto left = static_cast<size_t>(n);
    while (i < iov.size() && left >= iov[i].iov_len) left -= iov[i++].iov_len;
    if (left > 0) {
      iov[i].iov_base = static_cast<char*>(iov[i].iov_base) + left;
      iov[i].iov_len -= left;
    }
  }
  return true;
}

bool write_all(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace pp::server
