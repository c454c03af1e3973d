// Splitting a separated list ("a,b,,c") into its non-empty items: kernel lists (TXT records,
// pp_kernels_list()) and comma-separated settings ($PP_BROADCAST). Pure.
//
//   split_list("a,,b", ',')   // {"a", "b"}
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace pp {

// Appends the non-empty items of `list` to `out`.
inline void split_list(std::string_view list, char separator, std::vector<std::string>& out) {
  size_t at = 0;
  while (at < list.size()) {
    size_t end = std::min(list.find(separator, at), list.size());
    if (end > at) out.emplace_back(list.substr(at, end - at));
    at = end + 1;
  }
}

inline std::vector<std::string> split_list(std::string_view list, char separator) {
  std::vector<std::string> out;
  split_list(list, separator, out);
  return out;
}

}  // namespace pp
