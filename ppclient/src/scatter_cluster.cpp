// pp::Shared and Cluster::scatter: the C++ face of scattered values (scatter.hpp).
#include <stdexcept>

#include "core/proto/data_ref.hpp"
#include "pp/cluster.hpp"
#include "pp/shared.hpp"
#include "ppclient/src/job_server.hpp"
#include "ppclient/src/scatter.hpp"

namespace pp {

static_assert(detail::kDataRefExt == proto::kDataRefExt);

uint64_t Shared::size() const { return data_ ? data_->size() : 0; }

std::string detail::shared_body(const Shared& shared) {
  if (!shared) {
    throw std::invalid_argument("an empty or released pp::Shared cannot be an argument");
  }
  if (JobRefs::current != nullptr) JobRefs::current->shared.push_back(shared);
  return proto::data_ref_body(proto::DataRef{shared.data()->hash, shared.size()});
}

Shared Cluster::scatter_packed(std::string packed_value, const ScatterOptions& options) {
  auto data = server_->scatter(std::move(packed_value), options.broadcast);
  if (!data) {
    if (data.status().code() == StatusCode::kTooLarge) {
      throw std::length_error(data.status().message());
    }
    throw std::runtime_error(data.status().message());
  }
  return Shared(std::move(*data));
}

}  // namespace pp
