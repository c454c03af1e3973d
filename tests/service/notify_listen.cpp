// notify_listen SOCKET_PATH: stands in for systemd's notification socket. Binds a datagram
// socket at SOCKET_PATH and prints each message it receives on one line, its fields
// separated by " | " ("READY=1 | STATUS=serving on ..."), until SIGTERM or 10 minutes.
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2 || std::strlen(argv[1]) >= sizeof(sockaddr_un::sun_path)) {
    std::fprintf(stderr, "usage: notify_listen SOCKET_PATH (shorter than 108 bytes)\n");
    return 2;
  }
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, argv[1]);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("notify_listen: bind");
    return 1;
  }
  std::printf("listening\n");
  std::fflush(stdout);
  for (int idle_ms = 0; idle_ms < 600000;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      idle_ms += 100;
      continue;
    }
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) continue;
    std::string msg(buf, static_cast<size_t>(n));
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    for (size_t at; (at = msg.find('\n')) != std::string::npos;) msg.replace(at, 1, " | ");
    std::printf("%s\n", msg.c_str());
    std::fflush(stdout);
  }
  return 0;
}
