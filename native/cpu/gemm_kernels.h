// The SIMD pieces of the CPU GEMM, one set per instruction-set level. The
// same source (gemm_kernels.inc) is compiled once per level with that level's
// flags; gemm.cc picks the set for the running CPU.
#pragma once
#include <cstdint>

#include "torl/dtype.h"

namespace torl::cpu {

struct GemmKernels {
  int mr, nr;  // register tile: mr rows of A × nr columns of B
  // c[mr, nr] (+)= a_panel[kc, mr] · b_panel[kc, nr]; panels packed k-major, b 64-byte aligned.
  void (*tile)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);
  // tile's first `rows` rows only (1 ≤ rows ≤ mr), each summed exactly as tile sums it.
  void (*tile_rows)(int rows, int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate);
  // b_panel[kc, nr] = wᵀ: rows [0, cols) of w (f32 or bf16, [cols, kc], ldw) as the panel's
  // columns, zero-padded to nr; dst 64-byte aligned.
  void (*pack_nt)(int64_t kc, int64_t cols, const void* w, DType w_dtype, int64_t ldw, float* dst);
  // Dot-product form for few rows (decode): c[i, j] = alpha · Σ_p x[i, p] w[j, p] + beta · c[i, j]
  // for i < m ≤ 8, j in [j0, j1); x f32 [m, k] (ldx), w f32 or bf16 [n, k] (ldw).
  void (*rows_nt)(int m, int64_t j0, int64_t j1, int64_t k, float alpha, const float* x, int64_t ldx,
                  const void* w, DType w_dtype, int64_t ldw, float beta, float* c, int64_t ldc);
};

const GemmKernels& gemm_kernels_avx512();
const GemmKernels& gemm_kernels_avx2();
const GemmKernels& gemm_kernels_scalar();

}  // namespace torl::cpu
