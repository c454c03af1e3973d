#include "ppserver/listener.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

namespace pp::server {
namespace {

constexpr auto kBackoffMin = std::chrono::milliseconds(50);
constexpr auto kBackoffMax = std::chrono::milliseconds(1000);

// Why listening on `address` failed, and what to do about it.
std::string listen_failure(const asio::error_code& ec, const std::string& address) {
  std::string why = ec.message();
  if (ec == asio::error::address_in_use) {
    why +=
        ": another process (perhaps another ppserver) listens there; stop it, or choose "
        "another port with -p";
  } else if (ec.value() == EADDRNOTAVAIL) {
    why += ": " + address +
           " is not an address of this machine; give one of its "
           "addresses with -i (0.0.0.0: every interface)";
  } else if (ec == asio::error::access_denied) {
    why += ": ports below 1024 need privileges; choose a port of 1024 or above with -p";
  }
  return why;
}

}  // namespace

void set_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

Listener::Listener(asio::io_context& io, OnAccept on_accept, OnError on_error)
    : acceptor_(io),
      retry_timer_(io),
      on_accept_(std::move(on_accept)),
      on_error_(std::move(on_error)) {}

Listener::~Listener() {
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

uint16_t Listener::open(const std::string& address, uint16_t port) {
  const std::string where = address + ":" + std::to_string(port);
  asio::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("cannot listen on " + where + ": not an IP address");
  asio::ip::tcp::endpoint ep(ip, port);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + where + ": " + listen_failure(ec, address));
  set_cloexec(acceptor_.native_handle());
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  return acceptor_.local_endpoint().port();
}

void Listener::start() { accept(); }

void Listener::close() {
  closed_ = true;
  asio::error_code ignored;
  acceptor_.close(ignored);
  retry_timer_.cancel();
}

void Listener::accept() {
  acceptor_.async_accept([this](const asio::error_code& ec, asio::ip::tcp::socket sock) {
    if (closed_) return;
    if (ec) return on_accept_error(ec);
    backoff_ = std::chrono::milliseconds(0);
    set_cloexec(sock.native_handle());
    on_accept_(std::move(sock));
    accept();
  });
}

void Listener::on_accept_error(const asio::error_code& ec) {
  bool out_of_fds = ec.value() == EMFILE || ec.value() == ENFILE;
  if (out_of_fds) shed_pending();
  backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(kBackoffMin),
                        std::chrono::milliseconds(kBackoffMax));
  on_error_("accept failed: " + ec.message() + "; retrying in " + std::to_string(backoff_.count()) +
            " ms" + (out_of_fds ? " (waiting connections were closed)" : ""));
  retry_timer_.expires_after(backoff_);
  retry_timer_.async_wait([this](const asio::error_code& wait_ec) {
    if (!wait_ec && !closed_) accept();
  });
}

// Frees the reserve descriptor, accepts each waiting connection and closes it at
// once, so its peer hears at once; then takes the reserve back.
void Listener::shed_pending() {
  if (reserve_fd_ < 0) return;
  ::close(reserve_fd_);
  reserve_fd_ = -1;
  int listener = acceptor_.native_handle();
  for (int n = 0; n < 1024; ++n) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) break;
    ::close(fd);
  }
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

}  // namespace pp::server
