// pp::Shared: a value scattered to the nodes once (Cluster::scatter), to pass to
// many jobs without sending it with each.
//
// The value's msgpack bytes go to a node once, before the first job there that
// names it (or to every connected node at once with ScatterOptions::broadcast); a
// Shared packs, at any depth of a job's arguments, as the value's handle (msgpack
// ext type 2: content hash and size), and the job receives the value itself. Each
// worker decodes it once and hands the same Lua value to every job of this client
// there: what a job changes in it, later jobs of this client on that worker see.
// Cheap to copy (copies share one hold); the nodes free the value when no Shared
// and no unfinished job holds it (release() drops this copy's hold now).
//
//   pp::Shared table = cluster.scatter(std::vector<double>(2'500'000, 1.0));
//   pp::Job j = cluster.submit(pp::Code::lua("function(t, i) return t[i] end"), table, 7);
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <msgpack.hpp>

namespace pp {

namespace client {
struct SharedData;
}  // namespace client

// Options of one scatter (all optional).
struct ScatterOptions {
  bool broadcast = false;   // send to every connected node now, not when a job needs it
};

class Shared {
 public:
  Shared() = default;
  // Bytes of the packed value (0 for an empty or released Shared).
  uint64_t size() const;
  explicit operator bool() const { return data_ != nullptr; }
  // Ends this copy's hold (jobs that name the value keep theirs until they finish).
  void release() { data_.reset(); }
  // The engine's record (internal).
  const std::shared_ptr<const client::SharedData>& data() const { return data_; }

 private:
  friend class Cluster;
  explicit Shared(std::shared_ptr<const client::SharedData> data) : data_(std::move(data)) {}
  std::shared_ptr<const client::SharedData> data_;
};

namespace detail {
inline constexpr int8_t kDataRefExt = 2;
// The msgpack ext payload standing for `shared` (hash and size); notes it in the
// submit under way on this thread (JobRefs::current). Throws for an empty Shared.
std::string shared_body(const Shared& shared);
}  // namespace detail

}  // namespace pp

// msgpack-c: a pp::Shared packs as its value's handle (an ext value; see pp::Shared).
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
namespace adaptor {
template <>
struct pack<pp::Shared> {
  template <typename Stream>
  packer<Stream>& operator()(packer<Stream>& o, const pp::Shared& shared) const {
    const std::string body = pp::detail::shared_body(shared);
    o.pack_ext(body.size(), pp::detail::kDataRefExt);
    o.pack_ext_body(body.data(), body.size());
    return o;
  }
};
}  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
