// Finding the cluster secret: explicit value, then a secret file, then
// $PP_SECRET, then ~/.ppcluster/secret. Used by ppserver and the client alike.
// There is no built-in default: no secret found means "none".
#pragma once

#include <string>

#include "core/util/status.hpp"

namespace pp::secret {

// ~/.ppcluster/secret ("" if HOME is unset).
std::string default_path();
// Reads a secret file (trailing whitespace trimmed). Refuses an empty file and
// warns (via the returned note) when others can read it.
Result<std::string> read_file(const std::string& path, std::string* note = nullptr);
// explicit_value, else file (if given), else $PP_SECRET, else the default file if
// it exists, else "" (none). Errors only for a named file that cannot be read.
Result<std::string> resolve(const std::string& explicit_value, const std::string& file,
                            std::string* note = nullptr);
// Writes a fresh random secret to `path` (mode 0600, directory created);
// refuses to overwrite an existing file.
Result<std::string> create(const std::string& path, const std::string& random_hex);

}  // namespace pp::secret
