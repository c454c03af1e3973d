// RunningPage: one small page of memory shared by the node and one worker process,
// saying which job the worker is running and since when.
//
// A worker answers a batch of jobs in one write, so when it dies the node cannot tell
// from the results it has which job was running: the ones before it may have finished
// with their results still in the worker's buffer. The worker writes the running job's
// key (and the CLOCK_MONOTONIC time it started) here before each job and clears it
// after; the node reads it to blame a crash, a time limit or a CPU limit on exactly
// that job (worker_pool.cpp), and to time the job that runs now. Plain stores and
// loads, no system call on either side.
//
// The node creates it (memfd) before it starts the worker, which finds it as
// descriptor kRunningPageFd. Owned by whoever mapped it (unmapped in the destructor);
// one writer (the worker), one reader (the node's io thread).
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <new>

namespace pp::server {

// Where a worker finds the page (its socket to the node is descriptor 3).
inline constexpr int kRunningPageFd = 4;

struct RunningJob {
  std::atomic<uint64_t> key{0};          // node-local job key; 0 = between jobs
  std::atomic<uint64_t> started_ns{0};   // CLOCK_MONOTONIC, when that job started
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

class RunningPage {
 public:
  RunningPage() = default;
  ~RunningPage() { unmap(); }
  RunningPage(const RunningPage&) = delete;
  RunningPage& operator=(const RunningPage&) = delete;

  // Node side: a new page, zeroed, with the descriptor to hand to the worker
  // (close-on-exec; the node dup2()s it to kRunningPageFd in the child). False on failure.
  bool create() {
    unmap();
    int fd = memfd_create("pp-running-job", MFD_CLOEXEC);
    if (fd < 0) return false;
    if (ftruncate(fd, sizeof(RunningJob)) != 0 || !map(fd)) {
      ::close(fd);
      return false;
    }
    fd_ = fd;
    return true;
  }
  // Worker side: maps the page the node passed; false when there is none.
  bool open(int fd) {
    struct stat st{};
    if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof(RunningJob))) return false;
    if (!map(fd)) return false;
    ::close(fd);
    return true;
  }
  int fd() const { return fd_; }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  RunningJob* get() const { return job_; }

 private:
  bool map(int fd) {
    void* p = mmap(nullptr, sizeof(RunningJob), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return false;
    job_ = new (p) RunningJob;
    return true;
  }
  void unmap() {
    close_fd();
    if (job_ != nullptr) munmap(job_, sizeof(RunningJob));
    job_ = nullptr;
  }

  RunningJob* job_ = nullptr;
  int fd_ = -1;
};

}  // namespace pp::server
