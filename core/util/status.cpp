#include "core/util/status.hpp"

namespace pp {

const char* code_name(StatusCode c) noexcept {
  switch (c) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalid: return "invalid";
    case StatusCode::kTooLarge: return "too large";
    case StatusCode::kAuth: return "authentication failed";
    case StatusCode::kIncompatible: return "incompatible";
    case StatusCode::kIo: return "i/o error";
    case StatusCode::kTimeout: return "timeout";
    case StatusCode::kNotFound: return "not found";
    case StatusCode::kRemote: return "remote error";
    case StatusCode::kClosed: return "closed";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code_name(code_)) + ": " + message_;
}

}  // namespace pp
