#include "core/util/secret.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

// A secret file in a fresh directory, removed at the end.
struct SecretFile {
  SecretFile(const std::string& text, mode_t mode) {
    char tmpl[] = "/tmp/pp-secret-test-XXXXXX";
    int fd = mkstemp(tmpl);
    REQUIRE(fd >= 0);
    close(fd);
    path = tmpl;
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
  }
  ~SecretFile() { std::remove(path.c_str()); }
  std::string path;
};

}  // namespace

TEST_CASE("util.secret.short_secrets_are_named_weak") {
  CHECK(pp::secret::weakness("") == "");
  CHECK(pp::secret::weakness("0123456789abcdef") == "");
  CHECK(pp::secret::weakness("x") ==
        "the cluster secret is only 1 byte long, easy to guess; use at least 16 "
        "(ppserver --new-secret writes a random one)");
  CHECK(pp::secret::weakness("0123456789abcde").find("only 15 bytes long") != std::string::npos);
}

TEST_CASE("util.secret.files_others_can_read_are_not_private") {
  SecretFile own("0123456789abcdef0123", 0600);
  CHECK(pp::secret::check_private(own.path).is_ok());
  SecretFile world("0123456789abcdef0123", 0644);
  auto st = pp::secret::check_private(world.path);
  CHECK(!st.is_ok());
  CHECK(st.message().find("secret file " + world.path + " has mode 644: every user") == 0);
  CHECK(st.message().find("chmod 600 " + world.path) != std::string::npos);
  SecretFile group("0123456789abcdef0123", 0640);
  CHECK(pp::secret::check_private(group.path).message().find("mode 640: its group") !=
        std::string::npos);
}

TEST_CASE("util.secret.resolve_says_which_file_it_read") {
  SecretFile f("from-the-file-0123456789\n", 0600);
  std::string from = "stale";
  auto s = pp::secret::resolve("", f.path, nullptr, &from);
  REQUIRE(s.has_value());
  CHECK(*s == "from-the-file-0123456789");
  CHECK(from == f.path);
  auto explicit_value = pp::secret::resolve("given", f.path, nullptr, &from);
  CHECK(*explicit_value == "given");
  CHECK(from.empty());
}
