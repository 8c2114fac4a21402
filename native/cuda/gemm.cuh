// GEMM on the device (row-major, as torl/gemm.h):
//   C[m, n] = alpha·op(A)[m, k]·op(B)[k, n] + beta·C (+ bias[n])
// cuBLASLt when loaded; otherwise our kernels: bf16 tensor cores (WMMA →
// mma.sync, fp32 accumulate) when A and B are bf16, a tiled fp32 SIMT kernel
// when they are f32. TORL_CUDA_GEMM=own skips cuBLASLt (tests both paths).
#pragma once
#include "torl/gemm.h"

namespace torl::cuda {

// A and B must share a dtype (f32 or bf16); C and bias are f32 or bf16 (same dtype).
void gemm(const GemmArgs& g, const void* bias, int device);

}  // namespace torl::cuda
