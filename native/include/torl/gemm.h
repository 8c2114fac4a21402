// GEMM, the op everything leans on. Row-major throughout:
//   C[m, n] = alpha * op(A)[m, k] · op(B)[k, n] + beta * C
// op(X) = X, or Xᵀ when the trans flag is set (then X is stored [k, m] / [n, k]).
// A and B may be f32 or bf16 (converted while packing); C is f32.
#pragma once
#include <cstdint>

#include "torl/dtype.h"
#include "torl/tensor.h"

namespace torl {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.f, beta = 0.f;
  const void* a = nullptr;  DType a_dtype = DType::F32;  int64_t lda = 0;
  const void* b = nullptr;  DType b_dtype = DType::F32;  int64_t ldb = 0;
  void* c = nullptr;        DType c_dtype = DType::F32;  int64_t ldc = 0;
};

// wᵀ of the x·wᵀ layout (w [n, k], f32 or bf16) packed once into the CPU driver's B panels,
// in the order gemm walks them: a product with more than a few rows then skips packing w on
// every call (the engine's decode steps, where packing cost as much as a quarter of the step).
// The copy is f32 and the size of w; it goes stale when w changes.
struct PackedNT {
  Tensor panels;  // host f32
  int64_t n = 0, k = 0;
  int nr = 0;  // the micro-kernel width it was packed for
};

namespace cpu {
// CPU: c_dtype must be F32. `packed`: B as prepack_nt(w) made it (then g.trans_b is set and g.b is
// w itself, which the few-row path reads directly).
void gemm(const GemmArgs& g, const PackedNT* packed = nullptr);
PackedNT prepack_nt(const void* w, DType w_dtype, int64_t n, int64_t k, int64_t ldw);
}  // namespace cpu

}  // namespace torl
