// Tests of the kernel library through its C surface, the way LuaJIT sees it: known values,
// edge ranges, and independent reference implementations written here from the contracts.
#include "pp_kernels.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <numbers>
#include <string>
#include <vector>

#include <dlfcn.h>

namespace {

constexpr uint64_t kTop = UINT64_MAX;  // 2^64 - 1

// splitmix64 as published (Vigna, splitmix64.c), independent of the library's code.
uint64_t reference_splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

uint64_t reference_mc_pi_hits(uint64_t samples, uint64_t seed) {
  uint64_t state = seed;
  uint64_t hits = 0;
  for (uint64_t i = 0; i < samples; ++i) {
    const double x = std::ldexp(static_cast<double>(reference_splitmix64(state) >> 11), -53);
    const double y = std::ldexp(static_cast<double>(reference_splitmix64(state) >> 11), -53);
    if (x * x + y * y <= 1.0) ++hits;
  }
  return hits;
}

bool is_prime_by_trial_division(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

// Nothing may throw across the FFI: the whole surface is noexcept in C++.
static_assert(noexcept(pp_kernels_abi_version()));
static_assert(noexcept(pp_splitmix64(nullptr)));
static_assert(noexcept(pp_mc_pi_hits(0, 0)));
static_assert(noexcept(pp_count_primes(0, 0)));
static_assert(noexcept(pp_kernels_list()));

TEST_CASE("kernels.abi.version") {
  CHECK(PP_KERNELS_ABI_VERSION == 1);
  CHECK(pp_kernels_abi_version() == PP_KERNELS_ABI_VERSION);
}

// The list a node announces is what the library really exports: each name resolves as a
// pp_ symbol of the loaded library, and the library's own descriptors are not kernels.
TEST_CASE("kernels.list.names_exported_functions") {
  std::string list = pp_kernels_list();
  std::vector<std::string> names;
  for (size_t at = 0; at <= list.size();) {
    size_t comma = std::min(list.find(',', at), list.size());
    names.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  CHECK(names == std::vector<std::string>{"splitmix64", "mc_pi_hits", "count_primes"});
  for (const auto& n : names) {
    CAPTURE(n);
    CHECK(dlsym(RTLD_DEFAULT, ("pp_" + n).c_str()) != nullptr);
  }
}

TEST_CASE("kernels.splitmix64.reference_values") {
  // Published first outputs for seed 0.
  uint64_t state = 0;
  CHECK(pp_splitmix64(&state) == 0xe220a8397b1dcdafULL);
  CHECK(pp_splitmix64(&state) == 0x6e789e6aa1b965f4ULL);
  CHECK(pp_splitmix64(&state) == 0x06c45d188009454fULL);
  CHECK(state == 3 * 0x9e3779b97f4a7c15ULL);

  for (const uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{42}, kTop - 5, kTop}) {
    uint64_t ours = seed;
    uint64_t ref = seed;
    for (int i = 0; i < 100; ++i) {
      REQUIRE(pp_splitmix64(&ours) == reference_splitmix64(ref));
      REQUIRE(ours == ref);
    }
  }
}

TEST_CASE("kernels.mc_pi.matches_reference") {
  for (const uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{42}, kTop}) {
    for (const uint64_t samples : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{1000}}) {
      CAPTURE(seed);
      CAPTURE(samples);
      CHECK(pp_mc_pi_hits(samples, seed) == reference_mc_pi_hits(samples, seed));
    }
  }
  CHECK(pp_mc_pi_hits(0, 123) == 0);
}

TEST_CASE("kernels.mc_pi.deterministic_and_near_pi") {
  constexpr uint64_t kSamples = 1000000;
  const uint64_t hits = pp_mc_pi_hits(kSamples, 7);
  CHECK(hits == pp_mc_pi_hits(kSamples, 7));
  CHECK(hits != pp_mc_pi_hits(kSamples, 8));
  CHECK(hits == reference_mc_pi_hits(kSamples, 7));
  // One standard deviation of 4 * hits / samples is about 0.0016 here.
  const double estimate = 4.0 * static_cast<double>(hits) / kSamples;
  CHECK(std::abs(estimate - std::numbers::pi) < 0.01);
}

TEST_CASE("kernels.count_primes.known_values") {
  CHECK(pp_count_primes(0, 100) == 25);
  CHECK(pp_count_primes(100, 200) == 21);
  CHECK(pp_count_primes(0, 1000) == 168);
  CHECK(pp_count_primes(0, 1000000) == 78498);
  CHECK(pp_count_primes(0, 10000000) == 664579);
  CHECK(pp_count_primes(0, 100000000) == 5761455);
}

// ThreadSanitizer makes every byte store of the sieve costly: a 1e9-wide range takes minutes.
#if defined(__SANITIZE_THREAD__)
constexpr bool kUnderTsan = true;
#elif defined(__has_feature)
constexpr bool kUnderTsan = __has_feature(thread_sanitizer);
#else
constexpr bool kUnderTsan = false;
#endif

TEST_CASE("kernels.count_primes.wide_range" * doctest::skip(kUnderTsan)) {
  CHECK(pp_count_primes(0, 1000000000) == 50847534);
}

TEST_CASE("kernels.count_primes.edge_ranges") {
  CHECK(pp_count_primes(0, 0) == 0);
  CHECK(pp_count_primes(0, 1) == 0);
  CHECK(pp_count_primes(0, 2) == 0);
  CHECK(pp_count_primes(0, 3) == 1);
  CHECK(pp_count_primes(1, 2) == 0);
  CHECK(pp_count_primes(2, 3) == 1);
  CHECK(pp_count_primes(2, 4) == 2);
  CHECK(pp_count_primes(3, 3) == 0);
  CHECK(pp_count_primes(4, 5) == 0);
  CHECK(pp_count_primes(10, 5) == 0);
  CHECK(pp_count_primes(kTop, 0) == 0);
  CHECK(pp_count_primes(kTop, kTop) == 0);
  CHECK(pp_count_primes(kTop - 1, kTop) == 0);
  // The primes just below 2^64 are 2^64 - k for k = 59, 83, 95, 179, 189, 257, 279, 323, 353, 363.
  CHECK(pp_count_primes(kTop - 58, kTop) == 1);  // 2^64 - 59 only
  CHECK(pp_count_primes(kTop - 57, kTop) == 0);
  CHECK(pp_count_primes(kTop - 363, kTop) == 10);
  CHECK(pp_count_primes(kTop - 361, kTop) == 9);
}

TEST_CASE("kernels.count_primes.single_numbers") {
  // Strong pseudoprimes to several small bases, and primes of both sizes.
  const uint64_t composites[] = {
      561, 3215031751, 2152302898747, 3474749660383, 341550071728321, 3825123056546413051, kTop};
  for (const uint64_t composite : composites) {
    CAPTURE(composite);
    CHECK(pp_count_primes(composite, composite + 1) == 0);
  }
  const uint64_t primes[] = {2, 3, 2147483647, 1000000007, 2305843009213693951, kTop - 58};
  for (const uint64_t prime : primes) {
    CAPTURE(prime);
    CHECK(pp_count_primes(prime, prime + 1) == 1);
  }
}

TEST_CASE("kernels.count_primes.small_ranges_match_trial_division") {
  constexpr uint64_t kMax = 300;
  uint64_t pi[kMax + 1] = {};  // pi[n]: primes below n
  for (uint64_t n = 1; n <= kMax; ++n)
    pi[n] = pi[n - 1] + (is_prime_by_trial_division(n - 1) ? 1 : 0);
  for (uint64_t lo = 0; lo <= kMax; ++lo) {
    for (uint64_t hi = lo; hi <= kMax; ++hi) {
      CAPTURE(lo);
      CAPTURE(hi);
      REQUIRE(pp_count_primes(lo, hi) == pi[hi] - pi[lo]);
    }
  }
}

// Narrow windows are counted by Miller-Rabin and wide ones by the sieve: the two must agree.
TEST_CASE("kernels.count_primes.narrow_windows_match_wide_ranges") {
  SUBCASE("near 1e6, also against trial division") {
    uint64_t by_windows = 0;
    for (uint64_t lo = 990000, width = 1; lo < 1000000; lo += width, width = width % 29 + 1) {
      const uint64_t hi = std::min<uint64_t>(lo + width, 1000000);
      uint64_t expected = 0;
      for (uint64_t n = lo; n < hi; ++n) expected += is_prime_by_trial_division(n) ? 1 : 0;
      REQUIRE(pp_count_primes(lo, hi) == expected);
      by_windows += expected;
    }
    CHECK(pp_count_primes(990000, 1000000) == by_windows);
  }
  SUBCASE("near 1e12") {
    constexpr uint64_t kLo = 1000000000000ULL;
    uint64_t by_windows = 0;
    for (uint64_t lo = kLo; lo < kLo + 200000; lo += 20000)
      by_windows += pp_count_primes(lo, lo + 20000);
    CHECK(pp_count_primes(kLo, kLo + 200000) == by_windows);
    CHECK(by_windows > 0);
  }
  SUBCASE("just below 2^50, the largest sieved hi") {
    constexpr uint64_t kHi = 1ULL << 50;
    const uint64_t wide = pp_count_primes(kHi - (1 << 20), kHi);
    const uint64_t narrow =
        pp_count_primes(kHi - (1 << 20), kHi - (1 << 19)) + pp_count_primes(kHi - (1 << 19), kHi);
    CHECK(wide == narrow);
    CHECK(wide > 0);
  }
}
