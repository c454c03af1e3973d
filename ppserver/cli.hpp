// Command line of ppserver (CLI11): turns argv into what main() should do.
#pragma once

#include <string>
#include <variant>

#include "ppserver/node_config.hpp"
#include "ppserver/worker_process.hpp"

namespace pp::server {

struct RunNode { NodeConfig config; };
struct RunWorker { WorkerConfig config; };
// --help, --version, --new-secret, or an error (already printed): 0, 1 when a
// file could not be written, kExitUsage (2) for a bad option, value or secret.
struct Exit { int code = 0; };

using Command = std::variant<RunNode, RunWorker, Exit>;

Command parse_command_line(int argc, char** argv);

}  // namespace pp::server
