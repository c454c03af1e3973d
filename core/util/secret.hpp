// Finding the cluster secret: explicit value, then a secret file, then
// $PP_SECRET, then ~/.ppcluster/secret. Used by ppserver and the client alike.
// There is no built-in default: no secret found means "none".
#pragma once

#include <string>
#include <string_view>

#include "core/util/status.hpp"

namespace pp::secret {

// Shorter secrets are accepted with a warning: a cluster secret guards the right
// to run code on every node, and `ppserver --new-secret` makes 64 hex characters.
inline constexpr size_t kMinSecretBytes = 16;

// ~/.ppcluster/secret ("" if HOME is unset).
std::string default_path();
// Reads a secret file (trailing whitespace trimmed). Refuses an empty file and
// warns (via the returned note) when others can read it.
Result<std::string> read_file(const std::string& path, std::string* note = nullptr);
// explicit_value, else file (if given), else $PP_SECRET, else the default file if
// it exists, else "" (none). Errors only for a named file that cannot be read.
// `read_from` gets the file the secret came from ("" when it did not come from one).
Result<std::string> resolve(const std::string& explicit_value, const std::string& file,
                            std::string* note = nullptr, std::string* read_from = nullptr);
// Fails (naming the file, its mode and `chmod 600 FILE`) when users other than
// the owner may read the secret file at `path`: by its mode, or by its POSIX ACL,
// where one entry for this process's own user is allowed (systemd credentials).
Status check_private(const std::string& path);
// A warning for a secret shorter than kMinSecretBytes; "" when it is long enough
// (or there is none).
std::string weakness(std::string_view secret);
// Where every program looks when no secret is named, for messages:
// "the PP_SECRET environment variable, else the file ~/.ppcluster/secret".
std::string default_sources();
// Writes a fresh random secret to `path` (mode 0600, directory created);
// refuses to overwrite an existing file.
Result<std::string> create(const std::string& path, const std::string& random_hex);

}  // namespace pp::secret
