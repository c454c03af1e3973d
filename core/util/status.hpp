// Status and Result<T>: expected failures as values.
//
// A Status is either ok or carries one of a small closed set of codes plus a
// human-readable message that should say what went wrong and, where possible,
// what to do about it. Result<T> holds either a T or a failed Status.
// Both are plain values; thread-safety is that of any value type.
//
//   Result<Frame> r = reader.next();
//   if (!r) log_warn("dropping session: %s", r.status().message().c_str());
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace pp {

enum class StatusCode {
  kOk = 0,
  kInvalid,        // malformed or hostile input
  kTooLarge,       // a size limit was exceeded
  kAuth,           // authentication failed
  kIncompatible,   // version mismatch with a peer
  kIo,             // network or system call failure
  kTimeout,        // a deadline passed
  kNotFound,
  kRemote,         // a job failed on a node
  kClosed,         // the peer or the object went away
};

const char* code_name(StatusCode c) noexcept;

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const noexcept { return code_ == StatusCode::kOk; }
  explicit operator bool() const noexcept { return is_ok(); }
  StatusCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {       // NOLINT: implicit by design
    assert(!std::get<Status>(v_).is_ok());
  }

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const {
    static const Status kOkStatus;
    return has_value() ? kOkStatus : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace pp
