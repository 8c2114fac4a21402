// lm_head — the LM head fused with log-softmax, the target gather and the
// entropy, for the policy-gradient and SFT losses:
//   z[t, j] = (hidden[t, :] · weight[j, :]) / temperature
//   logprob[t] = z[t, targets[t]] − lse[t],   lse[t] = log Σ_j exp z[t, j]
//   entropy[t] = −Σ_j p[t, j] log p[t, j],    p = softmax(z[t, :])
// The vocabulary is processed in chunks of rows of `weight` (a GEMM into a
// [T_tile, chunk] scratch, then a running log-sum-exp and a running
// Σ p·(z − max)), so the [T, V] logits never exist in memory: the scratch is
// T_tile · chunk floats plus O(T) row statistics, whatever V is.
// The backward recomputes each chunk's logits from hidden, weight and the
// saved lse/entropy, turns them into d z in place and feeds two GEMMs:
//   d z[t, j] = gl[t] (δ(j, target) − p) − gh[t] p (log p + H[t])   (gl = d logprob, gh = d entropy)
//   dhidden = (d z / temperature) · weight,   dweight = (d z / temperature)ᵀ · hidden
// crossEntropy (SFT) is the same two passes with gl = −mask / Σ mask.
#pragma once
#include <cstdint>

#include "torl/tensor.h"

namespace torl {

// Validation (bindings call these on the JS thread). Target ids are checked
// against V when targets live on the host.
void lm_head_logprob_check(const Tensor& hidden, const Tensor& weight, const Tensor& targets, double temperature);
void lm_head_logprob_backward_check(const Tensor* dlogprob, const Tensor* dentropy, const Tensor& hidden,
                                    const Tensor& weight, const Tensor& targets, const Tensor& lse,
                                    const Tensor& entropy, double temperature);
void cross_entropy_check(const Tensor& hidden, const Tensor& weight, const Tensor& targets, const Tensor* mask,
                         double temperature);

struct LmHeadOut {
  Tensor logprob;  // [T] f32
  Tensor entropy;  // [T] f32
  Tensor lse;      // [T] f32, log Σ exp z (what the backward needs)
  int64_t scratch_bytes = 0;  // temporary memory the call allocated besides its outputs
};

// hidden [T, D] f32|bf16, weight [V, D] f32|bf16, targets [T] i32 in [0, V), temperature > 0.
LmHeadOut lm_head_logprob_forward(const Tensor& hidden, const Tensor& weight, const Tensor& targets,
                                  double temperature);

struct LmHeadGrads {
  Tensor dhidden;  // [T, D] f32
  Tensor dweight;  // [V, D] f32
  int64_t scratch_bytes = 0;
};

// dlogprob [T] f32 and dentropy [T] f32 (either may be null, not both);
// lse and entropy [T] f32 from the forward.
LmHeadGrads lm_head_logprob_backward(const Tensor* dlogprob, const Tensor* dentropy, const Tensor& hidden,
                                     const Tensor& weight, const Tensor& targets, const Tensor& lse,
                                     const Tensor& entropy, double temperature);

struct CrossEntropyOut {
  double loss = 0;   // Σ_t mask[t] · (−logprob[t]) / Σ_t mask[t]; 0 when Σ mask = 0
  double count = 0;  // Σ_t mask[t]
  Tensor dhidden;    // [T, D] f32 (when grad)
  Tensor dweight;    // [V, D] f32 (when grad)
  int64_t scratch_bytes = 0;
};

// SFT loss and, when `grad`, its gradients in the same call (forward pass,
// then the backward pass with d logprob = −mask / Σ mask). mask [T] f32|u8
// (null = every token counts).
CrossEntropyOut cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& targets, const Tensor* mask,
                              double temperature, bool grad);

using lm_head_logprob_forward_t = LmHeadOut(const Tensor& hidden, const Tensor& weight, const Tensor& targets,
                                            double temperature);
using lm_head_logprob_backward_t = LmHeadGrads(const Tensor* dlogprob, const Tensor* dentropy, const Tensor& hidden,
                                               const Tensor& weight, const Tensor& targets, const Tensor& lse,
                                               const Tensor& entropy, double temperature);
using cross_entropy_t = CrossEntropyOut(const Tensor& hidden, const Tensor& weight, const Tensor& targets,
                                        const Tensor* mask, double temperature, bool grad);

}  // namespace torl
