#include "core/discovery/udp.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include "core/util/log.hpp"

namespace pp::discovery {
namespace {

using asio::ip::udp;

// Distinct foreign node ids remembered, for a count in messages (a flood of
// forged beacons cannot grow the set beyond this).
constexpr size_t kMaxUnverified = 4096;

Status open_broadcast_socket(udp::socket& s, uint16_t port, bool reuse) {
  asio::error_code ec;
  s.open(udp::v4(), ec);
  if (!ec && reuse) s.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.set_option(asio::socket_base::broadcast(true), ec);
  if (!ec) s.bind(udp::endpoint(asio::ip::address_v4::any(), port), ec);
  if (ec) {
    return Status(StatusCode::kIo, "UDP port " + std::to_string(port) + ": " + ec.message());
  }
  return Status::ok();
}

}  // namespace

std::vector<std::string> broadcast_addresses(const std::string& listen_address) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  bool any = listen_address == "0.0.0.0" || listen_address.empty();
  bool wide = false;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0) continue;
    char addr[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, addr, sizeof addr);
    if (!any && listen_address != addr) continue;
    if ((i->ifa_flags & IFF_LOOPBACK) != 0) {
      out.emplace_back("127.255.255.255");
      continue;
    }
    if ((i->ifa_flags & IFF_BROADCAST) == 0 || i->ifa_broadaddr == nullptr) continue;
    char b[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_broadaddr)->sin_addr, b, sizeof b);
    out.emplace_back(b);
    wide = true;
  }
  freeifaddrs(list);
  if (wide) out.emplace_back("255.255.255.255");
  return out;
}

void DropLog::note(const std::string& sender, const std::string& why) {
  ++dropped_;
  auto now = std::chrono::steady_clock::now();
  // One line a minute per sender and reason: a flood cannot fill the log.
  std::string key = sender + "|" + why.substr(0, why.find(':'));
  auto it = last_.find(key);
  if (it != last_.end() && now - it->second < std::chrono::minutes(1)) return;
  if (last_.size() > 1024) last_.clear();
  last_[key] = now;
  PP_WARN("ignoring a beacon from %s: %s", sender.c_str(), why.c_str());
}

UdpAnnouncer::UdpAnnouncer(asio::io_context& io, AnnounceOptions options, proto::AuthKey key,
                           std::string cluster_id, FactsFn facts)
    : io_(io), opt_(std::move(options)), key_(std::move(key)), cluster_id_(std::move(cluster_id)),
      facts_(std::move(facts)),
      socket_(io), timer_(io) {}

Status UdpAnnouncer::start() {
  Status st = open_broadcast_socket(socket_, opt_.port, true);
  if (!st) return st;
  std::vector<std::string> addrs;
  if (!opt_.broadcast_override.empty()) addrs.push_back(opt_.broadcast_override);
  else addrs = broadcast_addresses(opt_.listen_address);
  for (const auto& a : addrs) {
    asio::error_code ec;
    auto ip = asio::ip::make_address_v4(a, ec);
    if (!ec) targets_.emplace_back(ip, opt_.port);
  }
  if (targets_.empty()) {
    PP_WARN("autodiscovery: no broadcast-capable interface serves %s; not announcing",
            opt_.listen_address.c_str());
  } else {
    std::string list;
    for (const auto& t : targets_) list += (list.empty() ? "" : ", ") + t.address().to_string();
    PP_INFO("autodiscovery: announcing on UDP port %u to %s", opt_.port, list.c_str());
  }
  receive();
  tick();
  return Status::ok();
}

void UdpAnnouncer::tick() {
  if (stopped_) return;
  announce_all(BeaconKind::kAnnounce);
  timer_.expires_after(opt_.interval);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (!ec) tick();
  });
}

void UdpAnnouncer::changed() {
  if (!stopped_ && !targets_.empty()) announce_all(BeaconKind::kAnnounce);
}

void UdpAnnouncer::send_to(const std::string& beacon, const udp::endpoint& to) {
  asio::error_code ec;
  socket_.send_to(asio::buffer(beacon), to, 0, ec);
  if (!ec) {
    bytes_sent_ += beacon.size();
  } else {
    drops_.note(to.address().to_string(), "cannot send a beacon there: " + ec.message());
  }
}

void UdpAnnouncer::announce_all(BeaconKind kind) {
  Beacon b;
  b.kind = kind;
  b.seq = ++seq_;
  b.facts = facts_();
  std::string wire = encode_beacon(b, key_);
  for (const auto& t : targets_) send_to(wire, t);
}

void UdpAnnouncer::receive() {
  socket_.async_receive_from(
      asio::buffer(buf_), from_, [this](const asio::error_code& ec, size_t n) {
        if (stopped_ || ec == asio::error::operation_aborted) return;
        if (!ec) {
          std::string sender = from_.address().to_string();
          auto b = decode_beacon(std::string_view(buf_.data(), n), key_, cluster_id_);
          if (!b) {
            if (b.status().code() != StatusCode::kNotFound) drops_.note(sender, b.status().message());
          } else if (b->kind == BeaconKind::kQuery) {
            Beacon reply;
            reply.kind = BeaconKind::kAnnounce;
            reply.seq = ++seq_;
            reply.facts = facts_();
            send_to(encode_beacon(reply, key_), from_);
          }
        }
        receive();
      });
}

void UdpAnnouncer::stop() {
  if (stopped_) return;
  announce_all(BeaconKind::kBye);
  stopped_ = true;
  timer_.cancel();
  asio::error_code ignored;
  socket_.close(ignored);
}

UdpListener::UdpListener(asio::io_context& io, uint16_t port, proto::AuthKey key,
                         std::string cluster_id, std::vector<std::string> broadcast,
                         OnSighting on_sighting)
    : io_(io), port_(port), key_(std::move(key)), cluster_id_(std::move(cluster_id)),
      broadcast_(std::move(broadcast)), on_sighting_(std::move(on_sighting)), listen_(io), query_(io),
      requery_(io),
      query_id_(proto::random_hex(8)) {}

Status UdpListener::start() {
  Status st = open_broadcast_socket(listen_, port_, true);
  if (!st) return st;
  st = open_broadcast_socket(query_, 0, false);
  if (!st) return st;
  receive(listen_, listen_from_, listen_buf_);
  receive(query_, query_from_, query_buf_);
  query();
  schedule_requery();
  return Status::ok();
}

// Datagrams can be lost: ask again shortly after start (nodes also announce periodically).
void UdpListener::schedule_requery() {
  static constexpr int kDelaysMs[] = {200, 800};
  if (queries_sent_ >= static_cast<int>(std::size(kDelaysMs))) return;
  requery_.expires_after(std::chrono::milliseconds(kDelaysMs[queries_sent_++]));
  requery_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    query();
    schedule_requery();
  });
}

void UdpListener::query() {
  Beacon q;
  q.kind = BeaconKind::kQuery;
  q.facts.cluster_id = cluster_id_;
  q.facts.node_id = query_id_;
  std::string wire = encode_beacon(q, key_);
  auto targets = broadcast_.empty() ? broadcast_addresses("0.0.0.0") : broadcast_;
  for (const auto& a : targets) {
    asio::error_code ec;
    auto ip = asio::ip::make_address_v4(a, ec);
    if (!ec) query_.send_to(asio::buffer(wire), udp::endpoint(ip, port_), 0, ec);
  }
}

void UdpListener::receive(udp::socket& s, udp::endpoint& from,
                          std::array<char, kMaxBeaconSize + 1>& buf) {
  s.async_receive_from(asio::buffer(buf), from, [this, &s, &from, &buf](const asio::error_code& ec,
                                                                         size_t n) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      std::string sender = from.address().to_string();
      Beacon claimed;
      auto b = decode_beacon(std::string_view(buf.data(), n), key_, cluster_id_, &claimed);
      if (!b) {
        if (b.status().code() != StatusCode::kNotFound) drops_.note(sender, b.status().message());
        bool node_of_another_cluster = b.status().code() == StatusCode::kNotFound ||
                                       b.status().code() == StatusCode::kAuth;
        if (node_of_another_cluster && claimed.kind == BeaconKind::kAnnounce &&
            unverified_.size() < kMaxUnverified) {
          unverified_.insert(claimed.facts.node_id);
        }
      } else if (b->kind != BeaconKind::kQuery) {
        b->facts.address = sender;
        on_sighting_(Sighting{std::move(b->facts), "broadcast", b->kind == BeaconKind::kBye});
      }
    }
    receive(s, from, buf);
  });
}

void UdpListener::stop() {
  stopped_ = true;
  requery_.cancel();
  asio::error_code ignored;
  listen_.close(ignored);
  query_.close(ignored);
}

}  // namespace pp::discovery
