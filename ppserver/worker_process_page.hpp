// RunningPage: memory shared by the node and one worker process, saying which job
// the worker is running and since when, and holding what that job has printed.
//
// A worker answers a batch of jobs in one write, so when it dies the node cannot tell
// from the results it has which job was running: the ones before it may have finished
// with their results still in the worker's buffer. The worker writes the running job's
// key (and the CLOCK_MONOTONIC time it started) here before each job and clears it
// after; the node reads it to blame a crash, a time limit or a CPU limit on exactly
// that job (worker_pool.cpp), and to time the job that runs now. Plain stores and
// loads, no system call on either side.
//
// The running job's output (print, io.write: worker_output.cpp) is written into the
// output area as the job prints, so what a job printed before a segfault, os.exit, a
// time limit's kill or a kill -9 is still here for the node to send with the job's
// outcome. At most kOutputLimit bytes per job; the rest is counted, not kept
// (output_text() says so). The area's pages cost memory only once written to.
//
// The node creates it (memfd) before it starts the worker, which finds it as
// descriptor kRunningPageFd. Owned by whoever mapped it (unmapped in the destructor);
// one writer (the worker), one reader (the node's io thread).
#pragma once

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

namespace pp::server {

// Where a worker finds the page (its socket to the node is descriptor 3).
inline constexpr int kRunningPageFd = 4;
// Output kept per job; beyond it the job's output is cut, with a note.
inline constexpr size_t kOutputLimit = 1u << 20;

struct RunningJob {
  std::atomic<uint64_t> key{0};          // node-local job key; 0 = between jobs
  std::atomic<uint64_t> started_ns{0};   // CLOCK_MONOTONIC, when that job started
  std::atomic<uint64_t> output_len{0};   // bytes of the running job's output kept
  std::atomic<uint64_t> output_cut{0};   // bytes it wrote beyond kOutputLimit
};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The note that ends output cut at the limit: the one place it is worded.
inline std::string output_cut_note(uint64_t cut) {
  return "\n[output cut: " + std::to_string(cut) + " more bytes not kept; a job keeps at most " +
         std::to_string(kOutputLimit >> 20) + " MiB of output]\n";
}

class RunningPage {
 public:
  // The header, then the output area from kOutputOffset.
  static constexpr size_t kOutputOffset = 4096;
  static constexpr size_t kBytes = kOutputOffset + kOutputLimit;
  static_assert(sizeof(RunningJob) <= kOutputOffset);

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
    if (ftruncate(fd, kBytes) != 0 || !map(fd, MAP_SHARED)) {
      ::close(fd);
      return false;
    }
    fd_ = fd;
    return true;
  }
  // Worker side: maps the page the node passed; false when there is none.
  bool open(int fd) {
    struct stat st{};
    if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(kBytes)) return false;
    if (!map(fd, MAP_SHARED)) return false;
    ::close(fd);
    return true;
  }
  // Worker side, when the node passed none: a page of its own, so output is still
  // captured (it is only lost with the worker).
  bool open_private() { return map(-1, MAP_SHARED | MAP_ANONYMOUS); }
  int fd() const { return fd_; }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  RunningJob* get() const { return job_; }

  // Worker side, before a job: no output yet (a store only when there was some).
  void clear_output() {
    if (job_ == nullptr) return;
    if (job_->output_len.load(std::memory_order_relaxed) != 0) {
      job_->output_len.store(0, std::memory_order_relaxed);
    }
    if (job_->output_cut.load(std::memory_order_relaxed) != 0) {
      job_->output_cut.store(0, std::memory_order_relaxed);
    }
  }
  // Worker side: the running job wrote `n` bytes. Kept up to the limit, counted beyond.
  void append_output(const char* data, size_t n) {
    if (job_ == nullptr) return;
    uint64_t len = job_->output_len.load(std::memory_order_relaxed);
    size_t keep = std::min<size_t>(n, kOutputLimit - len);
    if (keep > 0) {
      std::memcpy(area() + len, data, keep);
      job_->output_len.store(len + keep, std::memory_order_release);
    }
    if (keep < n) {
      job_->output_cut.store(job_->output_cut.load(std::memory_order_relaxed) + (n - keep),
                             std::memory_order_relaxed);
    }
  }
  bool has_output() const {
    return job_ != nullptr && (job_->output_len.load(std::memory_order_relaxed) != 0 ||
                               job_->output_cut.load(std::memory_order_relaxed) != 0);
  }
  // Either side: the output of the running job (or the last one) so far, with the note
  // when it was cut. Only what was stored before output_len was is read.
  std::string output_text() const {
    if (job_ == nullptr) return {};
    uint64_t len = std::min<uint64_t>(job_->output_len.load(std::memory_order_acquire),
                                      kOutputLimit);
    uint64_t cut = job_->output_cut.load(std::memory_order_relaxed);
    std::string out(area(), len);
    if (cut > 0) out += output_cut_note(cut);
    return out;
  }
  // Worker side, once the job's result is queued and the page no longer names it: a
  // large output's pages are given back, and the next job starts with none.
  void release_output() {
    if (!has_output()) return;
    size_t len = job_->output_len.load(std::memory_order_relaxed);
    if (len >= (64u << 10)) madvise(area(), (len + 4095) & ~size_t{4095}, MADV_REMOVE);
    clear_output();
  }

 private:
  char* area() const { return reinterpret_cast<char*>(job_) + kOutputOffset; }
  bool map(int fd, int flags) {
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (p == MAP_FAILED) return false;
    job_ = new (p) RunningJob;
    return true;
  }
  void unmap() {
    close_fd();
    if (job_ != nullptr) munmap(job_, kBytes);
    job_ = nullptr;
  }

  RunningJob* job_ = nullptr;
  int fd_ = -1;
};

}  // namespace pp::server
