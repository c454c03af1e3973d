// keep_bulk_buffers(): how a program that moves bulk bytes (the node and its workers,
// pp_bench) asks glibc's malloc to keep the memory of freed buffers for the next ones.
//
// Why: by default a buffer above 128 KiB is mapped on its own and unmapped when freed
// (glibc then raises that threshold to the size freed), and the heap's free top is given
// back to the kernel once it passes 128 KiB, later twice the threshold. Either way a
// 2 MiB argument or result of the next job lands on fresh pages: a page fault per 4 KiB,
// each page cleared and charged to the memory cgroup, about a quarter of the time the
// bulk path spent (docs/BENCHMARKS.md, "bulk2"). With the threshold fixed at glibc's
// largest (32 MiB), buffers up to it come from the heap and, freed, are reused; the heap
// keeps up to 64 MiB of free top (a few dozen such buffers) before it gives memory back.
// A process-wide policy, set once at the top of main() before other threads start; a
// library does not make it for its host program. Whoever set glibc's malloc tunables
// (GLIBC_TUNABLES=glibc.malloc...) keeps theirs.
#pragma once

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace pp::net {

inline void keep_bulk_buffers() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace pp::net
