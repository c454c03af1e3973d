// JobServer's half of scattered values (scatter.hpp): checking a value against the
// connected nodes' limits, broadcasting it, and releasing it on every node.
#include "core/proto/constants.hpp"
#include "core/util/byte_count.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/node_link.hpp"
#include "ppclient/src/node_table.hpp"

namespace pp::client {

// Why no connected node can hold a value of `size` bytes ("" when one can, or when
// none is connected yet: then the node that gets it says so, for the job that needs it).
// On the io thread.
std::string JobServer::data_refusal(uint64_t size) const {
  uint64_t cache = 0, frame = 0;
  bool any = false, fits = false;
  nodes_->for_each_ready([&](NodeLink& l) {
    any = true;
    const uint64_t c = l.node_hello().data_cache, f = l.node_max_frame();
    cache = std::max(cache, c);
    frame = std::max(frame, f);
    if (size <= c && size + proto::kDataEnvelope <= f) fits = true;
  });
  if (!any || fits) return {};
  if (cache < size) {
    return "cannot scatter a value of " + with_commas(size) +
           " bytes (packed): every connected node holds less (the largest data cache is " +
           with_commas(cache) + " bytes: ppserver --data-cache)";
  }
  return "cannot scatter a value of " + with_commas(size) +
         " bytes (packed): it is larger than every connected node's frame limit (the largest "
         "is " + with_commas(frame) + " bytes: ppserver --max-frame)";
}

Result<std::shared_ptr<const SharedData>> JobServer::scatter(std::string bytes, bool broadcast) {
  {
    std::lock_guard lock(sync_->mutex);
    if (closed_) return Status(StatusCode::kClosed, "this cluster was closed");
  }
  const uint64_t size = bytes.size();
  std::string why = on_io([this, size] { return data_refusal(size); });
  if (!why.empty()) return Status(StatusCode::kTooLarge, why);
  std::shared_ptr<const SharedData> data = data_->make(std::move(bytes));
  if (broadcast) {
    asio::post(io_, [this, data] {
      nodes_->for_each_ready([&](NodeLink& l) { l.send_data(data->hash, data->bytes); });
    });
  }
  return data;
}

void JobServer::release_data(const std::string& hash) {
  if (nodes_) nodes_->for_each_ready([&](NodeLink& l) { l.release_data(hash); });
}

}  // namespace pp::client
