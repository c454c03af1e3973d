// splitmix64 and the Monte Carlo pi kernel. The exact sequence of operations is part of the
// contract in pp_kernels.h: lua/pp/pure.lua and bench reference programs reproduce it bit for bit,
// which is why this file is compiled with -ffp-contract=off.
#include "pp_kernels.h"

#include <cstdint>

namespace pp::kernels {
namespace {

constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ULL;
constexpr uint64_t kMix1 = 0xBF58476D1CE4E5B9ULL;
constexpr uint64_t kMix2 = 0x94D049BB133111EBULL;
constexpr double kTwoToMinus53 = 0x1.0p-53;

inline uint64_t splitmix64(uint64_t& state) noexcept {
  state += kGoldenGamma;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * kMix1;
  z = (z ^ (z >> 27)) * kMix2;
  return z ^ (z >> 31);
}

// The top 53 bits as a double in [0, 1): exact, every value equally likely.
inline double unit_double(uint64_t r) noexcept {
  return static_cast<double>(r >> 11) * kTwoToMinus53;
}

uint64_t mc_pi_hits(uint64_t samples, uint64_t seed) noexcept {
  uint64_t state = seed;
  uint64_t hits = 0;
  for (uint64_t i = 0; i < samples; ++i) {
    const double x = unit_double(splitmix64(state));
    const double y = unit_double(splitmix64(state));
    hits += (x * x + y * y <= 1.0) ? 1 : 0;
  }
  return hits;
}

}  // namespace
}  // namespace pp::kernels

uint64_t pp_splitmix64(uint64_t* state) noexcept { return pp::kernels::splitmix64(*state); }

uint64_t pp_mc_pi_hits(uint64_t samples, uint64_t seed) noexcept {
  return pp::kernels::mc_pi_hits(samples, seed);
}
