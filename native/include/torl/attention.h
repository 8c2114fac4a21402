// attention — causal grouped-query attention over packed variable-length
// sequences (FlashAttention-2 style):
//   sequence b holds tokens [cu[b], cu[b+1]); query head h reads KV head h / (Hq / Hkv);
//   out[t, h] = Σ_{s in seq(t), s ≤ t} softmax_s(scale · q[t, h] · k[s, h_kv]) · v[s, h_kv]
//   lse[h, t] = log Σ_s exp(scale · q[t, h] · k[s, h_kv])   (natural log)
// No padding anywhere. Query × key tiles with an online softmax: the [T, T]
// score matrix (or any [T, T]-sized buffer) never exists. The backward
// recomputes the probabilities from lse (D = rowsum(dO ∘ O), per-tile P and
// dS) and sums dk, dv over the query heads that share a KV head.
// out, dq, dk, dv take q's dtype; lse is f32, laid out [Hq, T].
#pragma once
#include "torl/tensor.h"

namespace torl {

// q: [T, Hq, Dh], k, v: [T, Hkv, Dh] (f32/bf16, one dtype), Hkv divides Hq,
// Dh a multiple of 8; cu_seqlens: [B+1] i32, 0 = cu[0] ≤ cu[1] ≤ … ≤ cu[B] = T;
// scale > 0.
void attention_check(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens, double scale);
// dout, out: [T, Hq, Dh]; lse: [Hq, T] f32; the rest as attention_check.
void attention_backward_check(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& out, const Tensor& lse, const Tensor& cu_seqlens, double scale);
// 1/√Dh for a well-formed q (1 otherwise: the check then names the problem).
double attention_default_scale(const Tensor& q);

struct AttentionOut {
  Tensor out;  // [T, Hq, Dh]
  Tensor lse;  // [Hq, T] f32
};
AttentionOut attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens,
                               double scale);

struct AttentionGrads {
  Tensor dq;      // [T, Hq, Dh]
  Tensor dk, dv;  // [T, Hkv, Dh]
};
AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const Tensor& cu_seqlens, double scale);

using attention_forward_t = AttentionOut(const Tensor& q, const Tensor& k, const Tensor& v,
                                         const Tensor& cu_seqlens, double scale);
using attention_backward_t = AttentionGrads(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                            const Tensor& out, const Tensor& lse, const Tensor& cu_seqlens,
                                            double scale);

}  // namespace torl
