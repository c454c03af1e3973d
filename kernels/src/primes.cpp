// Prime counting over [lo, hi) for any uint64_t bounds, with bounded memory.
//
// Two methods, chosen per call by cost:
//  - a segmented sieve of the odd numbers, when the range is wide and hi < about 2^50: base primes
//    up to sqrt(hi) (themselves found by the same sieve, recursively), a 256 KiB flag segment that
//    stays in cache, and for each base prime the offset of its next multiple in the coming segment;
//  - a deterministic Miller-Rabin test of each odd number otherwise (narrow ranges, where making
//    the base primes would cost more than the range, and huge hi, where they would not fit).
// Only allocation can fail; the C wrapper turns that into PP_KERNELS_OUT_OF_MEMORY.
#include "pp_kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

namespace pp::kernels {
namespace {

__extension__ typedef unsigned __int128 u128;

constexpr uint64_t kSegmentOdds = uint64_t{1} << 18;   // odd numbers per segment: 256 KiB of flags
constexpr uint64_t kMaxSieveRoot = uint64_t{1} << 25;  // < 2.1M base primes: 8 MiB + 8 MiB offsets
constexpr uint64_t kMaxUint32 = 0xFFFFFFFFULL;

// floor(sqrt(n)) exactly, for every uint64_t n.
uint64_t isqrt(uint64_t n) noexcept {
  uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<double>(n)));
  r = std::min(r, kMaxUint32);
  while (r * r > n) --r;
  while (r < kMaxUint32 && (r + 1) * (r + 1) <= n) ++r;
  return r;
}

// Index, within the segment of odd numbers starting at odd seg_lo, of the first odd multiple of
// the odd prime p that is >= max(p*p, seg_lo); smaller primes crossed off the smaller multiples.
uint64_t first_offset(uint64_t p, uint64_t seg_lo) noexcept {
  uint64_t start = p * p;
  if (start < seg_lo) {
    const uint64_t r = seg_lo % p;
    start = r == 0 ? seg_lo : seg_lo + (p - r);
    if (start % 2 == 0) start += p;
  }
  return (start - seg_lo) / 2;
}

// Crosses off p's multiples in seg from index k on (index step p is number step 2p) and returns
// the index of the next multiple relative to the following segment.
uint32_t cross_off(std::span<uint8_t> seg, uint64_t p, uint64_t k) noexcept {
  for (; k < seg.size(); k += p) seg[k] = 1;
  return static_cast<uint32_t>(k - seg.size());
}

// Sieves the odd numbers in [first, hi) (first odd, >= 3) segment by segment with the odd primes
// `primes` (ascending, covering every prime up to sqrt(hi - 1)), and calls
// visit(std::span<const uint8_t> composite, uint64_t seg_lo) for each segment, where
// composite[k] != 0 means seg_lo + 2k is composite.
template <typename Visit>
void sieve_odds(uint64_t first, uint64_t hi, std::span<const uint32_t> primes, Visit&& visit) {
  if (first >= hi) return;
  std::vector<uint8_t> flags(std::min(kSegmentOdds, (hi - first + 1) / 2));
  std::vector<uint32_t> next;  // next[i]: offset of primes[i]'s next multiple, once active
  for (uint64_t seg_lo = first; seg_lo < hi;) {
    const uint64_t len = std::min<uint64_t>(flags.size(), (hi - seg_lo + 1) / 2);
    const uint64_t seg_end = seg_lo + 2 * len;
    const std::span<uint8_t> seg(flags.data(), len);
    std::fill(seg.begin(), seg.end(), uint8_t{0});
    // A prime starts crossing off at p*p, so it joins once p*p falls inside a segment.
    while (next.size() < primes.size() &&
           uint64_t{primes[next.size()]} * primes[next.size()] < seg_end) {
      next.push_back(static_cast<uint32_t>(first_offset(primes[next.size()], seg_lo)));
    }
    for (size_t i = 0; i < next.size(); ++i) next[i] = cross_off(seg, primes[i], next[i]);
    visit(std::span<const uint8_t>(seg), seg_lo);
    seg_lo = seg_end;
  }
}

// All odd primes <= limit, ascending. Recursion bottoms out below 9, where every odd number from
// 3 up is prime, so no separate small sieve is needed.
std::vector<uint32_t> odd_primes_upto(uint64_t limit) {
  std::vector<uint32_t> primes;
  if (limit < 3) return primes;
  const std::vector<uint32_t> base = odd_primes_upto(isqrt(limit));
  // pi(x) < 1.25506 x / ln x (Rosser and Schoenfeld 1962): reserve once instead of doubling.
  const double x = static_cast<double>(limit);
  primes.reserve(static_cast<size_t>(1.25506 * x / std::log(x)) + 1);
  sieve_odds(3, limit + 1, base, [&primes](std::span<const uint8_t> composite, uint64_t seg_lo) {
    for (size_t k = 0; k < composite.size(); ++k) {
      if (composite[k] == 0) primes.push_back(static_cast<uint32_t>(seg_lo + 2 * k));
    }
  });
  return primes;
}

uint64_t count_primes_by_sieve(uint64_t lo, uint64_t hi) {
  uint64_t count = (lo <= 2 && 2 < hi) ? 1 : 0;
  const uint64_t first = lo < 3 ? 3 : (lo | 1);
  if (first >= hi) return count;
  const std::vector<uint32_t> primes = odd_primes_upto(isqrt(hi - 1));
  sieve_odds(first, hi, primes, [&count](std::span<const uint8_t> composite, uint64_t) {
    uint64_t zeros = 0;
    for (const uint8_t c : composite) zeros += (c == 0) ? 1 : 0;
    count += zeros;
  });
  return count;
}

uint64_t mul_mod(uint64_t a, uint64_t b, uint64_t m) noexcept {
  return static_cast<uint64_t>(static_cast<u128>(a) * b % m);
}

uint64_t pow_mod(uint64_t base, uint64_t exp, uint64_t m) noexcept {
  uint64_t result = 1;
  base %= m;
  for (; exp != 0; exp >>= 1) {
    if (exp & 1) result = mul_mod(result, base, m);
    base = mul_mod(base, base, m);
  }
  return result;
}

// The first 12 primes as Miller-Rabin bases are a proven deterministic test for n < 3.3e24,
// so for every uint64_t (Sorenson and Webster 2015).
constexpr uint64_t kSmallPrimes[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};

bool is_prime(uint64_t n) noexcept {
  if (n < 2) return false;
  for (const uint64_t p : kSmallPrimes) {
    if (n % p == 0) return n == p;
  }
  if (n < 41 * 41) return true;  // no factor up to 37, and 41 > sqrt(n)
  const uint64_t n_minus_1 = n - 1;
  const int s = std::countr_zero(n_minus_1);
  const uint64_t d = n_minus_1 >> s;
  for (const uint64_t a : kSmallPrimes) {
    uint64_t x = pow_mod(a, d, n);
    if (x == 1 || x == n_minus_1) continue;
    bool witness = true;
    for (int i = 1; i < s && witness; ++i) {
      x = mul_mod(x, x, n);
      witness = x != n_minus_1;
    }
    if (witness) return false;
  }
  return true;
}

uint64_t count_primes_by_test(uint64_t lo, uint64_t hi) noexcept {
  uint64_t count = (lo <= 2 && 2 < hi) ? 1 : 0;
  // Odd n from max(lo, 3) while n < hi: n is odd and below UINT64_MAX, so n + 2 cannot wrap.
  for (uint64_t n = lo < 3 ? 3 : (lo | 1); n < hi; n += 2) {
    count += is_prime(n) ? 1 : 0;
  }
  return count;
}

uint64_t count_primes(uint64_t lo, uint64_t hi) {
  if (hi <= lo) return 0;
  const uint64_t root = isqrt(hi - 1);
  // A sieve pays about root to make its base primes; a test pays ~50 per odd number.
  if (root > kMaxSieveRoot || hi - lo < root / 32) return count_primes_by_test(lo, hi);
  return count_primes_by_sieve(lo, hi);
}

}  // namespace
}  // namespace pp::kernels

uint64_t pp_count_primes(uint64_t lo, uint64_t hi) noexcept {
  try {
    return pp::kernels::count_primes(lo, hi);
  } catch (...) {  // only std::bad_alloc can get here
    return PP_KERNELS_OUT_OF_MEMORY;
  }
}
