// Shared by the libFuzzer harnesses of tests/fuzz and the seed corpus generator:
// the fixed beacon secret both sides sign with, and a property check that
// aborts (which libFuzzer reports as a crash, with the input saved).
// Header-only and fuzz-only.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace pp::fuzz {

// The seed beacons are signed with the key derived from this secret, so the
// beacon harness reaches the code behind the HMAC check with them.
inline constexpr std::string_view kBeaconSecret = "ppcluster fuzz secret";
// The cluster id the beacon harness filters on in its second pass.
inline constexpr std::string_view kClusterId = "c0ffee";

// A broken property: say which and abort, so the input is kept as a crash.
[[noreturn]] inline void fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", file, line, what);
  std::abort();
}

}  // namespace pp::fuzz

#define PP_FUZZ_CHECK(cond) \
  ((cond) ? static_cast<void>(0) : ::pp::fuzz::fail(__FILE__, __LINE__, #cond))
