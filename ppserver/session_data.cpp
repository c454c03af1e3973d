// Session: a client's scattered values (DATA, DATA_RELEASE) and the values its jobs
// name. The bytes live in the node's DataStore, shared by every client that sent the
// same value; this session's holds end with DATA_RELEASE or when it closes
// (Node::session_closed).
#include "core/proto/auth.hpp"
#include "core/proto/data_ref.hpp"
#include "core/proto/job_ref.hpp"
#include "core/util/log.hpp"
#include "ppserver/node.hpp"
#include "ppserver/session.hpp"

namespace pp::server {
namespace {

// Refusals remembered per session: enough for any honest client's values.
constexpr size_t kMaxRefusals = 4096;

}  // namespace

void Session::on_data(proto::DataMsg&& data) {
  const size_t size = data.bytes.size();
  Status st = node_.data().put(id_, data.hash, std::move(data.bytes));
  if (st.code() == StatusCode::kInvalid) return fail("DATA: " + st.message());
  if (!st) {
    PP_WARN("client %s: %s", peer_.c_str(), st.message().c_str());
    if (refused_data_.size() >= kMaxRefusals) refused_data_.clear();
    refused_data_[data.hash] = st.message();
    return;
  }
  refused_data_.erase(data.hash);
  PP_DEBUG("client %s: scattered value %s of %zu bytes", peer_.c_str(),
           proto::to_hex(data.hash).c_str(), size);
  node_.data_changed({}, "a client sent a value");
}

void Session::on_data_release(const std::string& hash) {
  refused_data_.erase(hash);
  if (node_.data().release(id_, hash)) node_.data_changed({hash}, "a client released a value", Node::DataEvent::kPerJob);
}

std::string Session::attach_data(NodeJob& job) {
  // A client that holds no value here and had none refused names none (and if it
  // does, the worker says so): most jobs are not walked at all.
  if (!node_.data().holds_any(id_) && refused_data_.empty()) return {};
  std::vector<proto::DataRef> refs;
  if (Status st = proto::find_data_refs(*job.args, refs); !st) {
    return "bad job arguments: " + st.message();
  }
  for (proto::DataRef& ref : refs) {
    DataStore::Bytes bytes = node_.data().find(id_, ref.hash);
    if (bytes == nullptr) {
      auto refused = refused_data_.find(ref.hash);
      if (refused != refused_data_.end()) return refused->second;
      return "the node holds no scattered value " + proto::to_hex(ref.hash) +
             " for this client (DATA must precede the SUBMIT that names it)";
    }
    job.data.push_back({std::move(ref.hash), std::move(bytes)});
  }
  return {};
}

void Session::keep_result(proto::ResultMsg& result) {
  // Only the first value is kept: it is the one a dependent job takes (job_ref.hpp).
  Result<std::pair<size_t, size_t>> span = proto::first_element_span(result.value);
  if (!span || span->second < proto::kMinKeptValue) return;   // small: it goes inline
  auto [at, size] = *span;
  std::string first = result.value.substr(at, size);
  proto::DataRef ref{proto::data_hash(first), size};
  if (Status st = node_.data().keep(id_, ref.hash, std::move(first)); !st) {
    // Full store: the value goes back whole, as if it had not been asked to stay.
    PP_DEBUG("client %s: job %llu's result not kept: %s", peer_.c_str(),
             static_cast<unsigned long long>(result.job_id), st.message().c_str());
    return;
  }
  std::string value = result.value.substr(0, at);
  proto::put_data_ref(value, ref);
  value.append(result.value, at + size);
  result.value = std::move(value);
  node_.data_changed({}, "a job's result is kept", Node::DataEvent::kPerJob);
}

void Session::on_keep_fetch(const std::string& hash) {
  proto::Kept answer;
  answer.hash = hash;
  if (DataStore::Bytes bytes = node_.data().find(id_, hash)) answer.bytes = *bytes;
  stream_->send(proto::Message(std::move(answer)));
}

}  // namespace pp::server
