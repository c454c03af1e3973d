// What jobs print, echoed by the driver: each line of a job's output to this process's
// stdout, prefixed with the job and the node that ran it ("[job 12 on host:port] ").
// Called on the io thread as each result arrives (JobServer::deliver); one job's lines
// leave in one write, so the outputs of many jobs interleave by whole lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pp::client {

// `text` with every line prefixed, the last one ended by a newline ("" for "").
std::string prefixed_lines(uint64_t job_id, std::string_view node, std::string_view text);
// Writes prefixed_lines() to stdout and flushes it.
void echo_output(uint64_t job_id, std::string_view node, std::string_view text);

}  // namespace pp::client
