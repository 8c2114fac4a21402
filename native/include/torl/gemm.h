// GEMM, the op everything leans on. Row-major throughout:
//   C[m, n] = alpha * op(A)[m, k] · op(B)[k, n] + beta * C
// op(X) = X, or Xᵀ when the trans flag is set (then X is stored [k, m] / [n, k]).
// A and B may be f32 or bf16 (converted while packing); C is f32.
#pragma once
#include <cstdint>

#include "torl/dtype.h"

namespace torl {

struct GemmArgs {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.f, beta = 0.f;
  const void* a = nullptr;  DType a_dtype = DType::F32;  int64_t lda = 0;
  const void* b = nullptr;  DType b_dtype = DType::F32;  int64_t ldb = 0;
  void* c = nullptr;        DType c_dtype = DType::F32;  int64_t ldc = 0;
};

namespace cpu {
// CPU: c_dtype must be F32.
void gemm(const GemmArgs& g);
}  // namespace cpu

}  // namespace torl
