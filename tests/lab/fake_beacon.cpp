// fake_beacon: sends hostile or odd discovery beacons for the LAN tests.
//
//   fake_beacon --secret S --to 10.213.7.255 --mode forged|garbled|other-cluster|incompatible
//               [--seconds 3] [--tcp-port 60000]
//
// In mode "incompatible" it announces a node of protocol 99 on --tcp-port and listens
// there, printing at exit how many TCP connections it received (a client must never
// connect to a node it cannot use).
#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "core/discovery/beacon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"fake_beacon: hostile discovery beacons for tests"};
  std::string secret, to, mode;
  double seconds = 3;
  uint16_t tcp_port = 60000, udp_port = 60001;
  app.add_option("--secret", secret)->required();
  app.add_option("--to", to)->required();
  app.add_option("--mode", mode)
      ->required()
      ->check(CLI::IsMember({"forged", "garbled", "other-cluster", "incompatible"}));
  app.add_option("--seconds", seconds);
  app.add_option("--tcp-port", tcp_port);
  app.add_option("--udp-port", udp_port);
  CLI11_PARSE(app, argc, argv);

  asio::io_context io;
  asio::ip::udp::socket sock(io, asio::ip::udp::v4());
  sock.set_option(asio::socket_base::broadcast(true));
  asio::ip::udp::endpoint target(asio::ip::make_address_v4(to), udp_port);
  asio::ip::tcp::acceptor acceptor(io);
  int connections = 0;
  if (mode == "incompatible") {
    acceptor.open(asio::ip::tcp::v4());
    acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    acceptor.bind({asio::ip::address_v4::any(), tcp_port});
    acceptor.listen();
  }
  pp::discovery::Beacon b;
  b.facts.cluster_id = pp::proto::cluster_id(secret);
  b.facts.node_id = "fake-" + mode;
  b.facts.host = "fake-" + mode;
  b.facts.port = tcp_port;
  b.facts.workers = 8;
  b.facts.software = "0.1.0";
  b.facts.protocol = 1;
  b.facts.min_protocol = 1;
  b.facts.kernel_abi = 1;
  auto key = pp::discovery::beacon_key(secret);
  if (mode == "forged") key = pp::discovery::beacon_key(secret + " but not quite");
  if (mode == "other-cluster") {
    b.facts.cluster_id = pp::proto::cluster_id("another secret");
    key = pp::discovery::beacon_key("another secret");
  }
  if (mode == "incompatible") {
    b.facts.software = "9.9.9";
    b.facts.protocol = 99;
    b.facts.min_protocol = 99;
  }
  std::mt19937 rng(7);
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  while (std::chrono::steady_clock::now() < end) {
    std::string wire;
    if (mode == "garbled") {
      wire = pp::discovery::encode_beacon(b, key);
      for (int i = 0; i < 8; ++i) wire[rng() % wire.size()] ^= static_cast<char>(1 + rng() % 255);
    } else {
      b.seq++;
      wire = pp::discovery::encode_beacon(b, key);
    }
    sock.send_to(asio::buffer(wire), target);
    if (mode == "incompatible") {
      acceptor.non_blocking(true);
      asio::error_code ec;
      for (;;) {
        asio::ip::tcp::socket s(io);
        acceptor.accept(s, ec);
        if (ec) break;
        ++connections;
      }
    }
    // Five beacons a second, like a (chatty) node: a flood would only measure the
    // receivers' socket buffers, not how they treat bad beacons.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (mode == "incompatible") std::printf("tcp connections: %d\n", connections);
  return 0;
}
