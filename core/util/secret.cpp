#include "core/util/secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
                            std::string* note) {
  if (!explicit_value.empty()) return explicit_value;
  if (!file.empty()) return read_file(file, note);
  if (const char* env = std::getenv("PP_SECRET"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  std::string def = default_path();
  if (!def.empty() && access(def.c_str(), F_OK) == 0) return read_file(def, note);
  return std::string();
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
