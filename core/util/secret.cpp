#include "core/util/secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pp::secret {

std::string default_path() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "";
  return std::string(home) + "/.ppcluster/secret";
}

Result<std::string> read_file(const std::string& path, std::string* note) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kNotFound, "cannot read secret file " + path + ": " + strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  if (s.empty()) return Status(StatusCode::kInvalid, "secret file " + path + " is empty");
  struct stat st{};
  if (note != nullptr && stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    *note = "secret file " + path + " is readable by other users; chmod 600 it";
  }
  return s;
}

Result<std::string> resolve(const std::string& explicit_value, const std::string& file,
                            std::string* note, std::string* read_from) {
  if (read_from != nullptr) read_from->clear();
  if (!explicit_value.empty()) return explicit_value;
  if (!file.empty()) {
    if (read_from != nullptr) *read_from = file;
    return read_file(file, note);
  }
  if (const char* env = std::getenv("PP_SECRET"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  std::string def = default_path();
  if (!def.empty() && access(def.c_str(), F_OK) == 0) {
    if (read_from != nullptr) *read_from = def;
    return read_file(def, note);
  }
  return std::string();
}

namespace {

// Who besides its owner may read a file with POSIX ACL entries (the xattr
// system.posix_acl_access: a version word, then 8-byte tag/perm/id entries);
// "" when nobody. A named entry for this process's own user is allowed: that is
// how systemd's LoadCredential= hands a service its secret (mode 0400 plus one
// entry for the service's user, which makes the mode's group bits read r--).
std::string acl_readers(const unsigned char* acl, size_t size) {
  constexpr uint16_t kUser = 0x02, kGroupObj = 0x04, kGroup = 0x08, kMask = 0x10, kOther = 0x20;
  constexpr uint16_t kRead = 0x04;
  auto u16 = [&](size_t at) { return static_cast<uint16_t>(acl[at] | (acl[at + 1] << 8)); };
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(acl[at] | (acl[at + 1] << 8) | (acl[at + 2] << 16) |
                                 (static_cast<uint32_t>(acl[at + 3]) << 24));
  };
  uint16_t mask = 0x07;
  for (size_t at = 4; at + 8 <= size; at += 8) {
    if (u16(at) == kMask) mask = u16(at + 2);
  }
  for (size_t at = 4; at + 8 <= size; at += 8) {
    uint16_t tag = u16(at), perm = u16(at + 2);
    uint32_t id = u32(at + 4);
    if (tag == kOther && (perm & kRead)) return "every user of this machine";
    if ((perm & mask & kRead) == 0) continue;
    if (tag == kGroupObj) return "its group";
    if (tag == kGroup) return "group " + std::to_string(id);
    if (tag == kUser && id != geteuid()) return "user " + std::to_string(id);
  }
  return "";
}

}  // namespace

Status check_private(const std::string& path) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return Status::ok();   // reading it will say why
  const std::string consequence =
      " can read it, and with it run code on every node of the cluster; make it private with:  ";
  unsigned char acl[4096];
  ssize_t n = getxattr(path.c_str(), "system.posix_acl_access", acl, sizeof acl);
  if (n >= 4 || (n < 0 && errno == ERANGE)) {
    std::string who = n < 0 ? "too many users to list" : acl_readers(acl, static_cast<size_t>(n));
    if (who.empty()) return Status::ok();
    return Status(StatusCode::kInvalid, "secret file " + path + " has an access control list: " +
                                            who + consequence + "setfacl -b " + path +
                                            " && chmod 600 " + path);
  }
  if ((st.st_mode & 077) == 0) return Status::ok();
  char mode[8];
  std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
  std::string who = (st.st_mode & 007) != 0 ? "every user of this machine" : "its group";
  return Status(StatusCode::kInvalid, "secret file " + path + " has mode " + mode + ": " + who +
                                          consequence + "chmod 600 " + path);
}

std::string weakness(std::string_view secret) {
  if (secret.empty() || secret.size() >= kMinSecretBytes) return "";
  return "the cluster secret is only " + std::to_string(secret.size()) + " byte" +
         (secret.size() == 1 ? "" : "s") + " long, easy to guess; use at least " +
         std::to_string(kMinSecretBytes) + " (ppserver --new-secret writes a random one)";
}

std::string default_sources() {
  std::string def = default_path();
  return "the PP_SECRET environment variable, else the file " +
         (def.empty() ? std::string("~/.ppcluster/secret") : def);
}

Result<std::string> create(const std::string& path, const std::string& random_hex) {
  auto slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status(StatusCode::kIo, "cannot create " + dir + ": " + strerror(errno));
    }
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status(StatusCode::kInvalid, path + " already exists; remove it first to make a new secret");
    }
    return Status(StatusCode::kIo, "cannot create " + path + ": " + strerror(errno));
  }
  std::string line = random_hex + "\n";
  bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  if (!ok) return Status(StatusCode::kIo, "cannot write " + path);
  return random_hex;
}

}  // namespace pp::secret
