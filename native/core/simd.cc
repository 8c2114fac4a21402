// Run-time SIMD detection (cpuid through the compiler's builtins).
#include "torl/simd.h"

#include <cstdlib>
#include <cstring>

namespace torl {

static Simd detect() {
  Simd best = Simd::Scalar;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = Simd::AVX2;
  if (best == Simd::AVX2 && __builtin_cpu_supports("avx512f")) best = Simd::AVX512;
#endif
  if (const char* cap = std::getenv("TORL_SIMD")) {
    Simd want = best;
    if (!std::strcmp(cap, "scalar")) want = Simd::Scalar;
    else if (!std::strcmp(cap, "avx2")) want = Simd::AVX2;
    else if (!std::strcmp(cap, "avx512")) want = Simd::AVX512;
    if (want < best) best = want;
  }
  return best;
}

Simd simd_level() {
  static const Simd level = detect();
  return level;
}

const char* simd_name(Simd s) {
  switch (s) {
    case Simd::AVX512: return "avx512";
    case Simd::AVX2: return "avx2";
    case Simd::Scalar: return "scalar";
  }
  return "?";
}

}  // namespace torl
