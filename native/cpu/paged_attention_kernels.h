// The per-item work of CPU paged attention, one set per SIMD level (the same
// source, paged_attention_kernels.inc, compiled with each level's flags;
// paged_attention.cc picks the set for the running CPU and head size).
//
// A work item is one sequence's query rows [t0, t0 + nrows) (consecutive
// positions pos0 …) for the query heads of one KV head, against the cached
// keys [s0, s1) of that sequence (a key partition; causal rows see keys up to
// their own position). Its R = nrows · group rows (row r = query row r / group,
// head g · group + r % group) come back unnormalised, for the driver to
// finish or to merge across partitions:
//   acc[r, :] = Σ_s 2^(x_rs − m_r) · v_s,  l[r] = Σ_s 2^(x_rs − m_r),  m[r] = max_s x_rs
// with x_rs = scale · log2(e) · q_r · k_s (m = −inf, l = 0 when a row sees no key).
#pragma once
#include <cstdint>

namespace torl::cpu {

constexpr int64_t kPagedKeyChunk = 32;  // keys scored at a time (a multiple of every vector width)
constexpr int64_t kPagedRows = 16;      // rows per item aimed at (a group larger than this goes whole)
constexpr int64_t kPagedMaxDh = 512;    // the largest head size (a key row is held in registers / L1)

struct PagedProblem {
  int64_t Hq = 0, Hkv = 0, Dh = 0, group = 1, block_size = 0;
  float scale_log2 = 1.f;   // scale · log2(e)
  const float* q = nullptr;  // [T, Hq, Dh] f32
  const void* k_cache = nullptr;  // [num_blocks, block_size, Hkv, Dh] f32 or bf16 (as uint16)
  const void* v_cache = nullptr;
  bool bf16 = false;
};

struct PagedItem {
  const int32_t* table = nullptr;  // the sequence's block table
  int64_t t0 = 0, nrows = 0, pos0 = 0, g = 0, s0 = 0, s1 = 0;
};

struct PagedKernels {
  int vw;  // floats per vector: Dh must be a multiple of it
  // acc [R, Dh], m [R], l [R]; ws: paged_ws(R) floats.
  void (*rows)(const PagedProblem& p, const PagedItem& it, float* acc, float* m, float* l, float* ws);
};

inline int64_t paged_ws(int64_t R) { return R * kPagedKeyChunk; }

const PagedKernels& paged_kernels_avx512();
const PagedKernels& paged_kernels_avx2();
const PagedKernels& paged_kernels_scalar();

}  // namespace torl::cpu
