// rmsnorm — RMSNorm with an optional fused residual add (Qwen2's
// input_layernorm / post_attention_layernorm):
//   forward:  s = x + r (or s = x),  rstd = 1 / sqrt(mean(s²) + eps),  y = s · rstd · w
//   backward: with g = dy ∘ w,  ds = rstd · (g − s · rstd² · mean(g ∘ s)) + dresidual,
//             dw = Σ_t dy ∘ s · rstd
// One pass over each row forward and backward; the sum s is written once and
// never recomputed. ds is the gradient of both x and r (the residual add
// passes it through unchanged); dresidual is the gradient that reaches s from the
// residual stream downstream, fused into the same pass.
// y and s take x's dtype; rstd and dw are f32.
#pragma once
#include "torl/tensor.h"

namespace torl {

// x: [T, D], w: [D], residual: [T, D] (optional), all f32/bf16; eps ≥ 0.
void rmsnorm_check(const Tensor& x, const Tensor& w, const Tensor* residual, double eps);
// dy, s: [T, D], w: [D], rstd: [T] f32, dresidual: [T, D] (optional).
void rmsnorm_backward_check(const Tensor& dy, const Tensor& s, const Tensor& w, const Tensor& rstd,
                            const Tensor* dresidual);

struct RmsnormOut {
  Tensor y;     // [T, D]
  Tensor s;     // [T, D] x + residual; undefined without a residual
  Tensor rstd;  // [T] f32
};
RmsnormOut rmsnorm_forward(const Tensor& x, const Tensor& w, const Tensor* residual, double eps);

struct RmsnormGrads {
  Tensor dx;  // [T, D] (s's dtype): the gradient of x, and of the residual
  Tensor dw;  // [D] f32
};
RmsnormGrads rmsnorm_backward(const Tensor& dy, const Tensor& s, const Tensor& w, const Tensor& rstd,
                              const Tensor* dresidual);

using rmsnorm_forward_t = RmsnormOut(const Tensor& x, const Tensor& w, const Tensor* residual, double eps);
using rmsnorm_backward_t = RmsnormGrads(const Tensor& dy, const Tensor& s, const Tensor& w, const Tensor& rstd,
                                        const Tensor* dresidual);

}  // namespace torl
