// Listener: the node's listening TCP socket, which keeps accepting whatever
// happens to accept().
//
// open() binds and listens (a failure throws, naming the address, the port and
// the likely cause); start() accepts connections and hands each to the node,
// close-on-exec. A failed accept (out of descriptors, of memory) is retried after
// a backoff, 50 ms doubling up to 1 s, since the pending connection keeps the
// listener readable and an immediate retry would spin. Out of descriptors, the
// connections waiting in the backlog would hang there until their peers gave up,
// so a reserve descriptor is freed to accept and close each of them at once.
// Failures are told through on_error (the node rate-limits those lines).
// Owned by the Node; runs on its io_context thread.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace pp::server {

// Descriptors of the node are its own: none is meant for a process a job starts.
// (Asio opens sockets without close-on-exec; a worker closes everything above its
// socket before it starts, this covers anything else the node might run.)
void set_cloexec(int fd);

class Listener {
 public:
  using OnAccept = std::function<void(asio::ip::tcp::socket)>;
  using OnError = std::function<void(const std::string& line)>;

  Listener(asio::io_context& io, OnAccept on_accept, OnError on_error);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Listens on address:port (port 0: any free one) and returns the port; throws
  // std::runtime_error when it cannot.
  uint16_t open(const std::string& address, uint16_t port);
  void start();
  // Stops accepting and closes the socket; no callback is made after it.
  void close();

 private:
  void accept();
  void on_accept_error(const asio::error_code& ec);
  void shed_pending();

  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  OnAccept on_accept_;
  OnError on_error_;
  std::chrono::milliseconds backoff_{0};
  int reserve_fd_ = -1;  // given up to accept-and-close when out of descriptors
  bool closed_ = false;
};

}  // namespace pp::server
