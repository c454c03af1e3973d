#include "core/util/secret.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

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

// A POSIX access ACL as the kernel stores it in system.posix_acl_access.
struct AclEntry {
  uint16_t tag, perm;
  uint32_t id;
};
constexpr uint16_t kUserObj = 0x01, kUser = 0x02, kGroupObj = 0x04, kMask = 0x10, kOther = 0x20;
constexpr uint32_t kNoId = 0xffffffffu;

bool set_acl(const std::string& path, const std::vector<AclEntry>& entries) {
  std::string x;
  auto put = [&](uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) x.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put(2, 4);
  for (const auto& e : entries) {
    put(e.tag, 2);
    put(e.perm, 2);
    put(e.id, 4);
  }
  return setxattr(path.c_str(), "system.posix_acl_access", x.data(), x.size(), 0) == 0;
}

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

TEST_CASE("util.secret.acl_entries_decide_who_else_reads") {
  // systemd's LoadCredential=: mode 0400 plus one entry for the service's own user,
  // which makes the mode's group bits show the mask (r--).
  SecretFile cred("0123456789abcdef0123", 0400);
  if (!set_acl(cred.path, {{kUserObj, 4, kNoId},
                           {kUser, 4, geteuid()},
                           {kGroupObj, 0, kNoId},
                           {kMask, 4, kNoId},
                           {kOther, 0, kNoId}})) {
    MESSAGE("no POSIX ACLs on /tmp here; the ACL cases are not checked");
    return;
  }
  struct stat st {};
  REQUIRE(stat(cred.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 070) != 0);  // the mask, not the owning group's bits
  CHECK(pp::secret::check_private(cred.path).is_ok());

  SecretFile other_user("0123456789abcdef0123", 0400);
  REQUIRE(set_acl(other_user.path, {{kUserObj, 4, kNoId},
                                    {kUser, 4, geteuid() + 4242},
                                    {kGroupObj, 0, kNoId},
                                    {kMask, 4, kNoId},
                                    {kOther, 0, kNoId}}));
  auto st2 = pp::secret::check_private(other_user.path);
  CHECK(st2.message().find("has an access control list: user " + std::to_string(geteuid() + 4242) +
                           " can read it") != std::string::npos);
  CHECK(st2.message().find("setfacl -b " + other_user.path + " && chmod 600") != std::string::npos);

  // A named entry the mask shuts out reads nothing.
  SecretFile masked("0123456789abcdef0123", 0400);
  REQUIRE(set_acl(masked.path, {{kUserObj, 6, kNoId},
                                {kUser, 4, geteuid() + 4242},
                                {kGroupObj, 4, kNoId},
                                {kMask, 0, kNoId},
                                {kOther, 0, kNoId}}));
  CHECK(pp::secret::check_private(masked.path).is_ok());
}
