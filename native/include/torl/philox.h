// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11; the Random123 reference): a counter-based generator, so any draw is a
// pure function of (key, counter) — a sampled row's randomness depends only on
// its own seed and offset, never on the rest of the batch or on thread order.
// Header-only and usable from CUDA device code.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define TORL_HD __host__ __device__
#else
#define TORL_HD
#endif

namespace torl {

struct Philox4 {
  uint32_t v[4];
};

TORL_HD inline Philox4 philox4x32_10(Philox4 ctr, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(M0) * ctr.v[0];
    const uint64_t p1 = static_cast<uint64_t>(M1) * ctr.v[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    ctr = Philox4{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

// The uniform double in [0, 1) that sampling draws for (seed, offset): key =
// seed (low, high words), counter = (offset low, offset high, 0, 0); the first
// two output words give 53 random bits: (x0 · 2^21 + (x1 >> 11)) · 2^-53.
TORL_HD inline double philox_uniform(uint64_t seed, uint64_t offset) {
  const Philox4 r = philox4x32_10(
      Philox4{{static_cast<uint32_t>(offset), static_cast<uint32_t>(offset >> 32), 0u, 0u}},
      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 21) | (r.v[1] >> 11);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

}  // namespace torl
