// Vectorised row pieces of softmax-shaped ops (the fused LM-head log-prob and
// its backward, sampling), one set per SIMD level: softmax_kernels.inc is
// compiled with each level's flags (softmax_{avx512,avx2,scalar}.cc) and
// softmax_kernels() picks the set for the running CPU. exp is a Cephes-style
// polynomial (relative error ~2e-7 on [−87, 88]; exactly 0 below −87.3).
#pragma once
#include <cstdint>

namespace torl::cpu {

struct SoftmaxKernels {
  // max of z[0, n) (−inf when n = 0)
  float (*row_max)(const float* z, int64_t n);
  // s = Σ e, a = Σ e · (z − m), with e = exp(z − m)
  void (*exp_stats)(const float* z, int64_t n, float m, float* s, float* a);
  // in place: z ← e · (c1 + c2 · (z − lse)), e = exp(z − lse)
  void (*softmax_grad)(float* z, int64_t n, float lse, float c1, float c2);
  // out = exp(x · scale − shift); returns Σ out
  float (*exp_scaled)(const float* x, int64_t n, float scale, float shift, float* out);
};

const SoftmaxKernels& softmax_kernels_avx512();
const SoftmaxKernels& softmax_kernels_avx2();
const SoftmaxKernels& softmax_kernels_scalar();
// The set for this CPU (simd_level()).
const SoftmaxKernels& softmax_kernels();

}  // namespace torl::cpu
