#include "ppclient/src/sigint.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "ppclient/src/job_server.hpp"

namespace pp::client {
namespace {

// Set by the handler; lock-free, so safe to touch from it.
std::atomic<bool> g_received{false};
std::atomic<int> g_signal{0};  // which signal stopped the batch: the exit status follows it
static_assert(std::atomic<bool>::is_always_lock_free);
static_assert(std::atomic<int>::is_always_lock_free);
int g_wake[2] = {-1, -1};  // the handler writes, the SIGINT thread reads

// How long the nodes and the embedded node get to hear that the batch stopped.
constexpr auto kStopLimit = std::chrono::seconds(2);

int exit_status_for(int signo) { return 128 + signo; }

void on_stop_signal(int signo) {
  if (g_received.exchange(true)) _exit(exit_status_for(signo));  // the second one
  g_signal.store(signo);
  char byte = 1;
  ssize_t ignored = write(g_wake[1], &byte, 1);
  (void)ignored;
}

void stop_batch_then_exit() {
  char byte = 0;
  while (read(g_wake[0], &byte, 1) < 0) {
  }
  int signo = g_signal.load();
  if (signo == SIGINT) {
    std::fputs(
        "\nppclient: interrupted: stopping the batch and telling the nodes "
        "(Ctrl-C again to quit at once)\n",
        stderr);
  } else {
    std::fprintf(stderr,
                 "\nppclient: %s: stopping the batch and telling the nodes "
                 "(the same signal again to quit at once)\n",
                 signo == SIGTERM ? "terminated" : "hung up");
  }
  JobServer::interrupt_all(kStopLimit);
  std::fflush(nullptr);
  _exit(exit_status_for(signo));
}

}  // namespace

void install_sigint_handler() {
  if (pipe2(g_wake, O_CLOEXEC) != 0) return;  // Ctrl-C then simply ends the process
  std::thread(stop_batch_then_exit).detach();
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  // SIGTERM (a job scheduler's or `kill`'s stop) and SIGHUP (the terminal closed) stop the
  // batch as Ctrl-C does: without this they would end the process with its nodes still
  // running this client's jobs until the connection drops.
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) sigaction(signo, &sa, nullptr);
}

bool sigint_received() { return g_received.load(); }

void wait_for_sigint_exit() {
  for (;;) pause();
}

}  // namespace pp::client
