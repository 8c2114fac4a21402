// paged_attention — the generation engine's attention: new query tokens of
// many sequences against a paged KV cache (vLLM's PagedAttention, one op for
// prefill chunks over a cached prefix and for one-token decode, mixed in one
// batch), plus the two cache writers it needs.
//
// The cache (one pair per layer): k_cache, v_cache [num_blocks, block_size, Hkv, Dh].
// Cache position s of sequence b lives in block block_tables[b, s / block_size],
// slot s % block_size. Sequence b brings n_b = cu_seqlens_q[b+1] − cu_seqlens_q[b]
// new query rows q[cu_seqlens_q[b] + i] (0 ≤ i < n_b), whose K/V have already been
// written to the cache; context_lens[b] counts its cached tokens, the new ones
// included, so new row i sits at position p = context_lens[b] − n_b + i and sees
// cache positions 0 … p (causal):
//   out[t, h] = Σ_{s ≤ p} softmax_s(scale · q[t, h] · k(s, h / (Hq / Hkv))) · v(s, h / (Hq / Hkv))
// Online softmax over key chunks: no [n_b, context]-sized buffer exists. Long
// contexts with few (sequence, head) pairs are split over key partitions whose
// partial results (max, Σ exp, unnormalised output) are merged afterwards
// (flash-decoding); the merge order is fixed, so results never depend on the
// thread count.
//
// kv_cache_write scatters new K/V rows into their cache slots (slot_mapping[t] =
// block · block_size + offset; −1 = skip the row). kv_cache_copy copies whole
// blocks src[i] → dst[i] (the engine's copy-on-write of a shared partial block).
#pragma once
#include "torl/tensor.h"

namespace torl {

// q [T, Hq, Dh] (f32|bf16, Dh a multiple of 8); k_cache, v_cache
// [num_blocks, block_size, Hkv, Dh] in q's dtype, Hkv dividing Hq;
// block_tables [B, max_blocks] i32; cu_seqlens_q [B+1] i32 (0 … T, non-decreasing);
// context_lens [B] i32 with n_b ≤ context_lens[b] ≤ max_blocks · block_size, every
// block id it reaches in [0, num_blocks) (values checked when they are on the host);
// all on q's device; scale > 0.
void paged_attention_check(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const Tensor& block_tables,
                           const Tensor& cu_seqlens_q, const Tensor& context_lens, double scale);
// out [T, Hq, Dh] in q's dtype.
Tensor paged_attention_forward(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                               const Tensor& block_tables, const Tensor& cu_seqlens_q, const Tensor& context_lens,
                               double scale);

// k, v [T, Hkv, Dh] (any float dtype: converted to the cache's); slot_mapping [T] i32,
// each −1 or in [0, num_blocks · block_size), distinct (checked on the host).
void kv_cache_write_check(const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                          const Tensor& slot_mapping);
void kv_cache_write(const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                    const Tensor& slot_mapping);

// src, dst [N] i32 block ids in [0, num_blocks); no dst is also a src or repeated.
void kv_cache_copy_check(const Tensor& k_cache, const Tensor& v_cache, const Tensor& src, const Tensor& dst);
void kv_cache_copy(const Tensor& k_cache, const Tensor& v_cache, const Tensor& src, const Tensor& dst);

using paged_attention_forward_t = Tensor(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                         const Tensor& block_tables, const Tensor& cu_seqlens_q,
                                         const Tensor& context_lens, double scale);
using kv_cache_write_t = void(const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                              const Tensor& slot_mapping);
using kv_cache_copy_t = void(const Tensor& k_cache, const Tensor& v_cache, const Tensor& src, const Tensor& dst);

}  // namespace torl
