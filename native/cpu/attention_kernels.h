// The per-tile work of CPU attention, one set per SIMD level: the same source
// (attention_kernels.inc) is compiled once per level with that level's flags;
// attention.cc picks the set for the running CPU and the head size.
//
// Query tiles of kTile rows meet key tiles of kTile columns, both aligned to
// the start of their sequence, so the causal mask only cuts the diagonal tile.
// All operands are f32; q, k, v rows are read in place ([T, H, Dh] with a row
// stride), and k, v also as transposed copies ([Hkv][Dh][ldt], zero columns
// past T) whose rows give each tile's columns as contiguous vectors.
#pragma once
#include <cstdint>

namespace torl::cpu {

constexpr int64_t kAttnTile = 64;

struct AttnProblem {
  int64_t T = 0, Dh = 0, group = 1;  // group = Hq / Hkv
  float scale = 1.f;
  const float* q = nullptr;  int64_t ldq = 0;  // [T, Hq, Dh]; also dout, out, dq
  const float* k = nullptr;  const float* v = nullptr;  int64_t ldk = 0;  // [T, Hkv, Dh]
  const float* kt = nullptr; const float* vt = nullptr; int64_t ldt = 0;  // [Hkv][Dh][ldt]
  // forward results
  float* out = nullptr;  // [T, Hq, Dh]
  float* lse = nullptr;  // [Hq, T] (read by the backward)
  // backward
  const float* dout = nullptr;   // [T, Hq, Dh]
  const float* delta = nullptr;  // [Hq, T]: rowsum(dout ∘ out)
  float* dq = nullptr;           // [T, Hq, Dh]
  // dk/dv row t of output slot n at dk + t·ld_dkv + n·hs_dkv (each written once)
  float* dk = nullptr;  float* dv = nullptr;  int64_t ld_dkv = 0, hs_dkv = 0;
};

struct AttnKernels {
  int vw;  // floats per vector: Dh must be a multiple of it
  // out and lse for rows [i0, i1) of query head h, in the sequence starting at s0.
  void (*forward)(const AttnProblem& p, int64_t s0, int64_t i0, int64_t i1, int64_t h, float* ws);
  // The sequence [s0, s1) for query heads [h0, h0 + nh) (one KV head's): writes
  // their dq rows, and the sum of their dk/dv contributions into slot `slot`.
  void (*backward)(const AttnProblem& p, int64_t s0, int64_t s1, int64_t h0, int64_t nh, int64_t slot, float* ws);
};

// Workspace floats per thread.
inline int64_t attn_forward_ws(int64_t Dh) { return kAttnTile * kAttnTile + kAttnTile * Dh + 2 * kAttnTile; }
inline int64_t attn_backward_ws(int64_t Dh) { return 2 * kAttnTile * kAttnTile + 2 * kAttnTile * Dh; }

const AttnKernels& attn_kernels_avx512();
const AttnKernels& attn_kernels_avx2();
const AttnKernels& attn_kernels_scalar();

}  // namespace torl::cpu
