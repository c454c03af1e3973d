#include "ppclient/src/output_echo.hpp"

#include <cstdio>

#include "ppclient/src/progress_bar.hpp"

namespace pp::client {

std::string prefixed_lines(uint64_t job_id, std::string_view node, std::string_view text) {
  std::string prefix = "[job " + std::to_string(job_id);
  if (!node.empty()) prefix.append(" on ").append(node);
  prefix += "] ";
  std::string out;
  out.reserve(text.size() + prefix.size() * 4);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out += prefix;
    out.append(text.substr(start, end - start));
    out += '\n';
    start = end + 1;
  }
  return out;
}

void echo_output(uint64_t job_id, std::string_view node, std::string_view text,
                 ProgressBar* bar) {
  std::string lines = prefixed_lines(job_id, node, text);
  if (lines.empty()) return;
  if (bar != nullptr) return bar->print_above(lines, stdout);
  std::fwrite(lines.data(), 1, lines.size(), stdout);
  std::fflush(stdout);
}

}  // namespace pp::client
