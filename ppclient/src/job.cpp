// pp::Job: the public handle over a JobState (see pp/job.hpp).
#include "pp/job.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <mutex>

#include "core/proto/messages.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/job_state.hpp"

namespace pp {
namespace {

// A C++ type as its source spells it ("std::vector<int, ...>"), for messages.
std::string readable(const std::type_info& type) {
  int status = 0;
  char* name = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && name != nullptr ? name : type.name();
  std::free(name);
  return out;
}

// What a msgpack value is, with a short excerpt: `a string ("abc")`, `an array of 3`.
std::string describe(const msgpack::object& v) {
  using msgpack::type::object_type;
  switch (v.type) {
    case object_type::NIL: return "nothing (nil)";
    case object_type::BOOLEAN: return std::string("a boolean (") + (v.via.boolean ? "true" : "false") + ")";
    case object_type::POSITIVE_INTEGER: return "an integer (" + std::to_string(v.via.u64) + ")";
    case object_type::NEGATIVE_INTEGER: return "an integer (" + std::to_string(v.via.i64) + ")";
    case object_type::FLOAT32:
    case object_type::FLOAT64: return "a number (" + std::to_string(v.via.f64) + ")";
    case object_type::STR: {
      std::string s(v.via.str.ptr, std::min<uint32_t>(v.via.str.size, 40));
      return "a string (\"" + s + (v.via.str.size > 40 ? "...\")" : "\")");
    }
    case object_type::BIN: return "bytes (" + std::to_string(v.via.bin.size) + ")";
    case object_type::ARRAY: return "an array of " + std::to_string(v.via.array.size);
    case object_type::MAP: return "a table of " + std::to_string(v.via.map.size) + " keys";
    case object_type::EXT: return "an extension value (type " + std::to_string(v.via.ext.type()) + ")";
  }
  return "an unknown value";
}

}  // namespace

const char* to_string(JobStatus status) {
  switch (status) {
    case JobStatus::kPending: return "pending";
    case JobStatus::kRunning: return "running";
    case JobStatus::kFinished: return "finished";
    case JobStatus::kFailed: return "failed";
    case JobStatus::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string Job::type_mismatch(const msgpack::object& value, const std::type_info& wanted) const {
  return "job " + std::to_string(id()) + " returned " + describe(value) +
         ", which is not a " + readable(wanted) + " (asked for by get<T>)";
}

uint64_t Job::id() const { return state_ ? state_->id : 0; }

bool Job::ready() const {
  if (!state_) return false;
  std::lock_guard lock(state_->sync->mutex);
  return state_->done;
}

void Job::wait() const {
  if (!state_) throw std::logic_error("wait() on an empty pp::Job");
  std::unique_lock lock(state_->sync->mutex);
  state_->waited = true;
  if (state_->done) return;
  client::BlockedWait blocked(*state_->sync);
  state_->sync->cv.wait(lock, [&] { return state_->done; });
}

std::string Job::node() const {
  if (!state_) return "";
  std::lock_guard lock(state_->sync->mutex);
  return state_->node;
}

std::string Job::stdout_text() const {
  if (!state_) return "";
  std::lock_guard lock(state_->sync->mutex);
  return state_->output ? *state_->output : std::string();
}

msgpack::object_handle Job::results() const {
  const std::string& value = packed_results();
  // Strings and binaries refer to the value where the job keeps it (filled once, never
  // changed after): the zone holds the job's state, so the handle stays valid on its own.
  auto zone = std::make_unique<msgpack::zone>();
  zone->allocate<std::shared_ptr<client::JobState>>(state_);
  size_t off = 0;
  msgpack::object obj = msgpack::unpack(
      *zone, value.data(), value.size(), off,
      [](msgpack::type::object_type, size_t, void*) { return true; }, nullptr);
  return msgpack::object_handle(obj, std::move(zone));
}

const std::string& Job::packed_results() const {
  wait();
  {
    std::unique_lock lock(state_->sync->mutex);
    client::resolve_kept(state_, lock);   // a value kept on its node comes here once
  }
  const client::JobState& s = *state_;
  if (s.status != proto::JobStatus::kOk) {
    std::string kind = proto::job_status_name(s.status);
    std::string what = "job " + std::to_string(s.id) + " failed" +
                       (s.node.empty() ? "" : " on node " + s.node) + " (" + kind + "): " + s.error();
    if (!s.traceback().empty()) what += "\nremote " + s.traceback();
    // A raised value travels as a msgpack array of that one value (docs/protocol.md).
    std::string value;
    if (s.value.size() > 1 && static_cast<unsigned char>(s.value[0]) == 0x91) {
      value = s.value.substr(1);
    }
    throw RemoteError(what, kind, s.error(), s.traceback(), s.node, s.id, std::move(value));
  }
  return s.value;
}

bool Job::cancel() const {
  if (!state_) return false;
  if (auto server = server_.lock()) return server->cancel(state_);
  return false;   // its cluster closed: the job has its outcome
}

JobStatus Job::status() const {
  if (!state_) throw std::logic_error("status() on an empty pp::Job");
  std::lock_guard lock(state_->sync->mutex);
  const std::string_view name = client::status_name(*state_);
  if (name == "pending") return JobStatus::kPending;
  if (name == "running") return JobStatus::kRunning;
  if (name == "finished") return JobStatus::kFinished;
  return name == "cancelled" ? JobStatus::kCancelled : JobStatus::kFailed;
}

int Job::attempts() const {
  if (!state_) return 0;
  std::lock_guard lock(state_->sync->mutex);
  return state_->attempts;
}

double Job::elapsed() const {
  if (!state_) return 0;
  std::lock_guard lock(state_->sync->mutex);
  return state_->elapsed;
}

}  // namespace pp
