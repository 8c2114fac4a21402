// Qwen2 generation steps over a paged KV cache (the engine's one native call
// per step). The layer math is the training forward's (Qwen2::forward); only
// the attention differs: each layer scatters the new tokens' K/V into their
// cache slots and runs paged attention over each sequence's cached context
// (or, when no sequence has a cached prefix, the packed causal attention).
// Positions and slots are derived here from context_lens and the block
// tables, so they cannot disagree. Only the sampled rows reach the LM head:
// [R, V] logits (R = sequences that sample this step), never [T, V]. On the
// CPU the linear weights are packed for the GEMM once per weight version, not
// on every call (GenStep::weight_version).
#include <cmath>
#include <cstring>
#include <vector>

#include "model_internal.h"
#include "torl/embedding.h"
#include "torl/error.h"
#include "torl/linear.h"
#include "torl/paged_attention.h"

namespace torl::model {

namespace {

void host_i32(const Tensor& t, int ndim, const char* op, const char* name) {
  TORL_CHECK(t.defined() && t.dtype == DType::I32 && t.ndim() == ndim && t.device().is_cpu(), op, ": ", name,
             " must be a ", ndim, "-D i32 host tensor");
}

// Per new token: its position and its cache slot; per sampled row: the packed row it reads.
struct Derived {
  Tensor positions, slots, rows;  // [T], [T], [R] i32 host
};

Derived derive(const GenStep& s, int64_t block_size) {
  const int64_t T = s.tokens.dim(0), B = s.cu_seqlens.dim(0) - 1, MB = s.block_tables.dim(1);
  const int32_t* cu = s.cu_seqlens.ptr<int32_t>();
  const int32_t* cl = s.context_lens.ptr<int32_t>();
  const int32_t* bt = s.block_tables.ptr<int32_t>();
  Derived d{empty({T}, DType::I32, Device{}), empty({T}, DType::I32, Device{}),
            empty({s.sample_seqs.dim(0)}, DType::I32, Device{})};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = cu[b]; t < cu[b + 1]; ++t) {
      const int64_t pos = cl[b] - (cu[b + 1] - t);
      d.positions.ptr<int32_t>()[t] = static_cast<int32_t>(pos);
      d.slots.ptr<int32_t>()[t] = static_cast<int32_t>(bt[b * MB + pos / block_size] * block_size + pos % block_size);
    }
  for (int64_t r = 0; r < s.sample_seqs.dim(0); ++r) d.rows.ptr<int32_t>()[r] = cu[s.sample_seqs.ptr<int32_t>()[r] + 1] - 1;
  return d;
}

// A step that samples nothing (prefill chunks only, or no tokens).
GenResult no_samples() {
  GenResult out;
  out.ids = empty({0}, DType::I32, Device{});
  out.logprob = empty({0}, DType::F32, Device{});
  out.temp_logprob = empty({0}, DType::F32, Device{});
  return out;
}

// A view of the first n rows of a row-major tensor, on its device, sharing its memory.
Tensor leading_rows(const Tensor& t, int64_t n) {
  Tensor v;
  v.storage = std::make_shared<Storage>(t.data(), static_cast<size_t>(n) * (t.nbytes() / t.dim(0)), t.device(),
                                        [keep = t.storage](void*) {});
  v.dtype = t.dtype;
  v.shape = t.shape;
  v.shape[0] = n;
  return v;
}

}  // namespace

// The sampling rows' logits [R, vocab] (vocab 0 or ≥ V: all V). With the CPU's packed head the
// full product is made and its leading columns kept (the packed GEMM stays batch-invariant);
// otherwise only the head's leading rows are multiplied.
Tensor Qwen2::head_logits(const Micro& mb, const Tensor& h, int64_t vocab) const {
  if (vocab <= 0 || vocab >= cfg_.vocab) return linear(mb, head_name(), h, nullptr);
  if (!mb.packed) return linear_forward(h, leading_rows(weight(head_name()), vocab), nullptr);
  const Tensor full = linear(mb, head_name(), h, nullptr);
  const int64_t R = full.dim(0), V = full.dim(1);
  Tensor out = empty({R, vocab}, DType::F32, Device{});
  for (int64_t r = 0; r < R; ++r) std::memcpy(out.ptr<float>() + r * vocab, full.ptr<float>() + r * V, vocab * sizeof(float));
  return out;
}

void Qwen2::check_generate(const KvCache& c, const GenStep& s, const char* op) const {
  TORL_CHECK(c.k.size() == static_cast<size_t>(cfg_.layers) && c.v.size() == c.k.size(), op,
             ": the cache needs one K and one V tensor per layer (", cfg_.layers, "), got ", c.k.size(), " and ",
             c.v.size());
  const Tensor& k0 = c.k[0];
  for (size_t l = 0; l < c.k.size(); ++l)
    for (const Tensor* t : {&c.k[l], &c.v[l]}) {
      TORL_CHECK(t->defined(), op, ": cache tensor of layer ", l, " has been disposed");
      TORL_CHECK(t->ndim() == 4 && t->dim(2) == cfg_.kv_heads && t->dim(3) == cfg_.head_dim && t->shape == k0.shape,
                 op, ": cache tensors must all be [numBlocks, blockSize, ", cfg_.kv_heads, ", ", cfg_.head_dim,
                 "], got ", t->shape_str(), " at layer ", l);
      TORL_CHECK(t->dtype == dtype_ && t->device() == device_, op, ": the cache must be ", dtype_name(dtype_), " on ",
                 device_.str(), " like the model, got ", dtype_name(t->dtype), " on ", t->device().str());
    }
  host_i32(s.tokens, 1, op, "tokens");
  host_i32(s.cu_seqlens, 1, op, "cuSeqlens");
  host_i32(s.context_lens, 1, op, "contextLens");
  host_i32(s.block_tables, 2, op, "blockTables");
  host_i32(s.copy_src, 1, op, "copySrc");
  host_i32(s.copy_dst, 1, op, "copyDst");
  host_i32(s.sample_seqs, 1, op, "sampleSeqs");
  const int64_t T = s.tokens.dim(0), B = s.block_tables.dim(0);
  const int64_t BS = k0.dim(1);
  const int32_t* ids = s.tokens.ptr<int32_t>();
  for (int64_t t = 0; t < T; ++t)
    TORL_CHECK(ids[t] >= 0 && ids[t] < cfg_.vocab, op, ": tokens[", t, "] = ", ids[t],
               " is outside the vocabulary [0, ", cfg_.vocab, ")");
  // Shapes, cuSeqlens, context lengths and block ids, as paged attention sees them.
  const Tensor q_probe = borrow(nullptr, {T, cfg_.heads, cfg_.head_dim}, dtype_, [](void*) {});
  const Tensor kc_probe = borrow(nullptr, k0.shape, dtype_, [](void*) {});
  paged_attention_check(q_probe, kc_probe, kc_probe, s.block_tables, s.cu_seqlens, s.context_lens, 1.0);
  const int32_t* cl = s.context_lens.ptr<int32_t>();
  for (int64_t b = 0; b < B; ++b)
    TORL_CHECK(cl[b] <= cfg_.max_positions, op, ": sequence ", b, " would reach ", cl[b],
               " tokens, past max_position_embeddings = ", cfg_.max_positions);
  const Derived d = derive(s, BS);
  const Tensor k_probe = borrow(nullptr, {T, cfg_.kv_heads, cfg_.head_dim}, dtype_, [](void*) {});
  kv_cache_write_check(k_probe, k_probe, kc_probe, kc_probe, d.slots);  // two sequences never write one slot
  kv_cache_copy_check(kc_probe, kc_probe, s.copy_src, s.copy_dst);
  const int32_t* cu = s.cu_seqlens.ptr<int32_t>();
  for (int64_t r = 0; r < s.sample_seqs.dim(0); ++r) {
    const int32_t b = s.sample_seqs.ptr<int32_t>()[r];
    TORL_CHECK(b >= 0 && b < B && cu[b + 1] > cu[b], op, ": sampleSeqs[", r, "] = ", b,
               " must name a sequence with new tokens (of ", B, ")");
  }
  Tensor logits_probe = borrow(nullptr, {s.sample_seqs.dim(0), cfg_.vocab}, DType::F32, [](void*) {});
  sample_check(logits_probe, s.params);
}

GenResult Qwen2::generate_step(const KvCache& c, const GenStep& s) {
  std::lock_guard<std::mutex> lk(busy_);
  check_complete();
  const int64_t T = s.tokens.dim(0), R = s.sample_seqs.dim(0);
  const Derived d = derive(s, c.k[0].dim(1));
  if (s.copy_src.dim(0) > 0) {
    const Tensor src = to_device(s.copy_src, device_), dst = to_device(s.copy_dst, device_);
    for (size_t l = 0; l < c.k.size(); ++l) kv_cache_copy(c.k[l], c.v[l], src, dst);
  }
  pack_weights(s.weight_version);
  if (T == 0) return no_samples();
  Micro mb;
  mb.T = T;
  mb.tokens = to_device(s.tokens, device_);
  mb.positions = to_device(d.positions, device_);
  const Tensor slots = to_device(d.slots, device_), bt = to_device(s.block_tables, device_);
  const Tensor cu = to_device(s.cu_seqlens, device_), cl = to_device(s.context_lens, device_);
  const double scale = 1.0 / std::sqrt(static_cast<double>(cfg_.head_dim));
  // A step of fresh prompts only (no cached prefix: the first step of a batch, a recompute) attends
  // within the new tokens: the packed flash attention, ~3× the paged kernel on a long prompt.
  bool fresh = true;
  for (int64_t b = 0; b + 1 < s.cu_seqlens.dim(0); ++b)
    fresh = fresh && s.context_lens.ptr<int32_t>()[b] == s.cu_seqlens.ptr<int32_t>()[b + 1] - s.cu_seqlens.ptr<int32_t>()[b];
  const Attend attend = [&](int64_t l, const Tensor& q, const Tensor& k, const Tensor& v) {
    kv_cache_write(k, v, c.k[l], c.v[l], slots);
    if (fresh) return attention_forward(q, k, v, cu, scale);
    return AttentionOut{paged_attention_forward(q, c.k[l], c.v[l], bt, cu, cl, scale), Tensor{}};
  };
  mb.attend = &attend;
  if (!packed_.empty()) mb.packed = &packed_;
  const Forward f = forward(mb, false, false);
  if (R == 0) return no_samples();  // prefill chunks only: nothing reaches the LM head
  const Tensor h = embedding_forward(to_device(d.rows, device_), f.yf);  // [R, D]: the rows that sample
  const SampleOut so = sample(head_logits(mb, h, s.vocab), s.params);
  GenResult out;
  out.ids = to_device(so.ids, Device{});
  out.logprob = to_device(so.logprob, Device{});
  out.temp_logprob = to_device(so.temp_logprob, Device{});
  return out;
}

}  // namespace torl::model
