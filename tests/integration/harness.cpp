#include "tests/integration/harness.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/proto/auth.hpp"
#include "core/proto/codec.hpp"
#include "core/proto/constants.hpp"

extern char** environ;

namespace pp::test {

std::string bin_dir() { return PP_TEST_BIN_DIR; }
std::string source_dir() { return PP_TEST_SOURCE_DIR; }

ServerProcess::ServerProcess(std::vector<std::string> args, std::string secret) {
  char tmpl[] = "/tmp/pp-test-node-XXXXXX";
  int log_fd = mkstemp(tmpl);
  if (log_fd < 0) throw std::runtime_error("mkstemp failed");
  log_path_ = tmpl;
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::string bin = bin_dir() + "/ppserver";
  std::vector<std::string> argv_s = {bin, "-i", "127.0.0.1", "--report-fd", "3"};
  // Any free port, unless the test names one (a node restarted on its old port).
  if (std::find(args.begin(), args.end(), "-p") == args.end()) {
    argv_s.insert(argv_s.end(), {"-p", "0"});
  }
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv = c_strings(argv_s);
  std::vector<std::string> env_s = environment_with_secret(secret);
  std::vector<char*> envp = c_strings(env_s);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  // The log first: mkstemp may have returned fd 3, which the report pipe takes next.
  posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
  posix_spawn_file_actions_adddup2(&fa, log_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, report[1], 3);
  int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(report[1]);
  close(log_fd);
  if (rc != 0) throw std::runtime_error("cannot start " + bin + ": " + strerror(rc));
  std::string line;
  for (int i = 0; i < 100 && line.find('\n') == std::string::npos; ++i) {
    pollfd p{report[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[32];
    ssize_t n = read(report[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  close(report[0]);
  port_ = static_cast<uint16_t>(std::atoi(line.c_str()));
  if (port_ == 0) {
    // The destructor will not run: reap the process and remove the log here.
    std::string why = log();
    terminate();
    std::remove(log_path_.c_str());
    throw std::runtime_error("ppserver did not start: " + why);
  }
}

ServerProcess::~ServerProcess() {
  terminate();
  std::remove(log_path_.c_str());
}

bool ServerProcess::alive() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }

void ServerProcess::reaped(int wait_status) {
  exit_status_ = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  pid_ = -1;
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  waitpid(pid_, &st, 0);
  reaped(st);
}

void ServerProcess::terminate() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 300; ++i) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      reaped(st);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
}

bool ServerProcess::wait_exit(std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (pid_ > 0) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      reaped(st);
      break;
    }
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string ServerProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ServerProcess::wait_for_log(const std::string& needle, std::chrono::milliseconds limit) const {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (log().find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return log().find(needle) != std::string::npos;
}

size_t ServerProcess::count_in_log(const std::string& needle) const {
  std::istringstream in(log());
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}


namespace {

std::vector<int> fd_numbers(pid_t pid) {
  std::vector<int> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(std::atoi(e->d_name));
  }
  closedir(d);
  return out;
}

sockaddr_in loopback(uint16_t port, const std::string& address = "127.0.0.1") {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  return a;
}

}  // namespace

int open_fds(pid_t pid) {
  if (::kill(pid, 0) != 0) return -1;
  return static_cast<int>(fd_numbers(pid).size());
}

int lowest_free_fd(pid_t pid) {
  auto fds = fd_numbers(pid);
  std::sort(fds.begin(), fds.end());
  int free_fd = 0;
  for (int fd : fds) {
    if (fd != free_fd) break;
    ++free_fd;
  }
  return free_fd;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces): state is field 3,
  // utime and stime are fields 14 and 15.
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

RawConnection::RawConnection(uint16_t port, const std::string& source) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (!source.empty()) {
    sockaddr_in local = loopback(0, source);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      return;
    }
  }
  sockaddr_in a = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

uint16_t RawConnection::local_port() const {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (fd_ < 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

bool RawConnection::send_bytes(std::string_view bytes) {
  if (fd_ < 0 || closed_) return false;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool RawConnection::send(const proto::Message& m) {
  std::string out;
  proto::encode_frame(m, out);
  return send_bytes(out);
}

std::optional<proto::Message> RawConnection::receive(std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto next = reader_.next();
    if (next.state == proto::FrameReader::kComplete) {
      auto m = proto::decode_message(next.payload);
      if (!m) return std::nullopt;
      return *m;
    }
    if (next.state == proto::FrameReader::kBad || fd_ < 0 || closed_) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    auto buf = reader_.prepare(4096);
    ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    if (n <= 0) {
      closed_ = true;
      return std::nullopt;
    }
    reader_.commit(static_cast<size_t>(n));
  }
}

bool RawConnection::peer_closed() {
  if (fd_ < 0 || closed_) return true;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    if (n < 0 && errno == EINTR) continue;
    closed_ = true;  // 0: orderly close; other errors: reset
    return true;
  }
}

bool RawConnection::wait_closed(std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!peer_closed()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
  }
  return true;
}

std::optional<proto::Hello> handshake(RawConnection& c, const std::string& secret,
                                      proto::Hello hello) {
  hello.role = "client";
  hello.nonce = proto::random_bytes(proto::kNonceSize);
  if (hello.luajit.empty()) hello.luajit = "LuaJIT harness";
  if (!c.send(hello)) return std::nullopt;
  auto m = c.receive(std::chrono::seconds(20));
  auto* node = m ? std::get_if<proto::Hello>(&*m) : nullptr;
  if (node == nullptr) return std::nullopt;
  proto::Hello answer = *node;
  c.send(proto::Auth{proto::client_proof(proto::derive_key(secret), hello.nonce, answer.nonce)});
  auto ok = c.receive(std::chrono::seconds(20));
  if (!ok || !std::holds_alternative<proto::AuthOk>(*ok)) return std::nullopt;
  return answer;
}

RecordingProxy::RecordingProxy(uint16_t target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 4) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("recording proxy: ") + strerror(errno));
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this, target_port] { run(target_port); });
}

RecordingProxy::~RecordingProxy() {
  char x = 0;
  ssize_t ignored = ::write(stop_pipe_[1], &x, 1);
  (void)ignored;
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

std::string RecordingProxy::from_client() const {
  std::lock_guard lock(mu_);
  return up_;
}

std::string RecordingProxy::from_server() const {
  std::lock_guard lock(mu_);
  return down_;
}

void RecordingProxy::run(uint16_t target_port) {
  pollfd wait_accept[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
  if (::poll(wait_accept, 2, -1) <= 0 || (wait_accept[1].revents & POLLIN)) return;
  int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (client < 0) return;
  int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(target_port);
  if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(client);
    if (server >= 0) ::close(server);
    return;
  }
  char buf[16384];
  for (bool open = true; open;) {
    pollfd p[3] = {{client, POLLIN, 0}, {server, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(p, 3, -1) < 0 && errno != EINTR) break;
    if (p[2].revents & POLLIN) break;
    for (int side = 0; side < 2 && open; ++side) {
      if (!(p[side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int from = side == 0 ? client : server, to = side == 0 ? server : client;
      ssize_t n = ::recv(from, buf, sizeof buf, 0);
      if (n <= 0) {
        open = false;
        break;
      }
      {
        std::lock_guard lock(mu_);
        (side == 0 ? up_ : down_).append(buf, static_cast<size_t>(n));
      }
      if (::send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) open = false;
    }
  }
  ::close(client);
  ::close(server);
}

std::vector<std::string> split_frames(const std::string& bytes) {
  std::vector<std::string> out;
  size_t at = 0;
  while (bytes.size() - at >= proto::kHeaderSize) {
    const auto* h = reinterpret_cast<const unsigned char*>(bytes.data() + at);
    size_t len = (size_t{h[0]} << 24) | (size_t{h[1]} << 16) | (size_t{h[2]} << 8) | h[3];
    if (bytes.size() - at < proto::kHeaderSize + len) break;
    out.push_back(bytes.substr(at, proto::kHeaderSize + len));
    at += proto::kHeaderSize + len;
  }
  return out;
}

pp::ClusterOptions client_options(std::vector<std::string> servers, const std::string& secret,
                                  std::chrono::seconds no_node_timeout) {
  pp::ClusterOptions o;
  o.servers = std::move(servers);
  o.local_workers = 0;
  o.secret = secret;
  o.no_node_timeout = no_node_timeout;
  return o;
}

std::vector<std::string> environment_with_secret(const std::string& secret) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "PP_SECRET=", 10) != 0) env.emplace_back(*e);
  }
  if (!secret.empty()) env.push_back("PP_SECRET=" + secret);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace pp::test
