// What jobs print, echoed by the driver: each line of a job's output to this process's
// stdout, prefixed with the job and the node that ran it ("[job 12 on host:port] ").
// Called on the io thread as each result arrives (JobServer::deliver); one job's lines
// leave in one write, so the outputs of many jobs interleave by whole lines. With a
// progress bar on the terminal, the lines go above it (ProgressBar::print_above).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pp::client {

class ProgressBar;

// `text` with every line prefixed, the last one ended by a newline ("" for "").
std::string prefixed_lines(uint64_t job_id, std::string_view node, std::string_view text);
// Writes prefixed_lines() to stdout and flushes it; above `bar` when there is one.
void echo_output(uint64_t job_id, std::string_view node, std::string_view text,
                 ProgressBar* bar = nullptr);

}  // namespace pp::client
