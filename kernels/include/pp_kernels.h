/* pp_kernels.h: the FFI surface of libppkernels, the native hot loops that LuaJIT jobs call
 * through ffi.load (Lua module pp.native).
 *
 * Plain C. Every function is pp_-prefixed, extern "C" and noexcept in C++, takes plain values
 * and caller-owned buffers, keeps no state between calls and never throws; all of them are
 * thread-safe because they touch nothing but their arguments.
 *
 * The declarations between the two CDEF marker comments below are also LuaJIT's ffi.cdef: the
 * build (kernels/CMakeLists.txt) extracts that text, drops the PP_NOEXCEPT tokens and substitutes
 * it into lua/pp/native.lua.in, so there is no second hand-written copy. That region must stay
 * plain C that ffi.cdef accepts: no other macros, no preprocessor lines, only the fixed-width
 * integer types and double, which LuaJIT knows. Changing a signature or a contract means bumping
 * PP_KERNELS_ABI_VERSION; pp.native refuses a library whose version differs from the one it was
 * generated for.
 *
 * The algorithms are contracts, not just answers: lua/pp/pure.lua reproduces them bit for bit,
 * and the library is compiled with -ffp-contract=off so no fused multiply-add changes a result.
 *
 *   uint64_t state = 42;
 *   uint64_t r = pp_splitmix64(&state);             // state is now 42 + 0x9E3779B97F4A7C15
 *   uint64_t hits = pp_mc_pi_hits(10000000, 42);    // pi is about 4.0 * hits / 1e7
 *   uint64_t n = pp_count_primes(0, 100);           // 25
 *   const char *names = pp_kernels_list();          // "splitmix64,mc_pi_hits,count_primes"
 */
#ifndef PP_KERNELS_H_
#define PP_KERNELS_H_

#include <stdint.h>

#define PP_KERNELS_ABI_VERSION 1

/* pp_count_primes returns this (never a possible count) when it could not allocate its
 * bounded working memory. */
#define PP_KERNELS_OUT_OF_MEMORY UINT64_MAX

#ifdef __cplusplus
#define PP_NOEXCEPT noexcept
extern "C" {
#else
#define PP_NOEXCEPT
#endif

/* The library is built with hidden visibility; only these declarations are exported. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/* PP_CDEF_BEGIN */
/* The ABI version the library was built with; pp.native checks it at load. */
int32_t pp_kernels_abi_version(void) PP_NOEXCEPT;

/* The kernels this library exports, comma-separated ("splitmix64,mc_pi_hits,..."): the names
   of the pp_ functions declared in this region, without the prefix and without the
   pp_kernels_ functions that describe the library. Generated from this header by the build,
   so a node announces what its library really has. A static string; never NULL. */
const char *pp_kernels_list(void) PP_NOEXCEPT;

/* One step of splitmix64 (Steele, Lea and Flood 2014; constants from Vigna's splitmix64.c):
   *state += 0x9E3779B97F4A7C15, then z = *state is mixed with
   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9, z = (z ^ (z >> 27)) * 0x94D049BB133111EB,
   and z ^ (z >> 31) is returned. All arithmetic is modulo 2^64. state must not be NULL. */
uint64_t pp_splitmix64(uint64_t *state) PP_NOEXCEPT;

/* Monte Carlo pi: starting from state = seed, each sample draws x then y as
   (double)(pp_splitmix64(&state) >> 11) * 2^-53, a point of [0, 1)^2, and is a hit when
   x*x + y*y <= 1.0 in IEEE double arithmetic without fused multiply-add.
   Returns the number of hits; hits / samples tends to pi / 4. */
uint64_t pp_mc_pi_hits(uint64_t samples, uint64_t seed) PP_NOEXCEPT;

/* The number of primes p with lo <= p < hi; 0 when hi <= lo. Any uint64_t bounds work:
   wide ranges below 2^50 use a segmented sieve (working memory at most about 20 MiB, far
   less for hi below 1e12), narrow or huge ranges a deterministic Miller-Rabin test per
   odd number. Returns UINT64_MAX if that working memory could not be allocated. */
uint64_t pp_count_primes(uint64_t lo, uint64_t hi) PP_NOEXCEPT;
/* PP_CDEF_END */

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PP_KERNELS_H_ */
