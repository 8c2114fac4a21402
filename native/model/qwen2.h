// Qwen2 in native memory, llm.c style: the weights, their gradients and the
// activations saved for backward live here, and a whole forward or backward
// over a packed batch is one call composed from the op functions
// (embedding, rmsnorm, linear, rope, attention, swiglu, lm_head, grpo) — never
// a backend-specific call, so one code path serves every device.
//
// Per layer (x the residual stream [T, D], sequences packed by cuSeqlens):
//   y1 = rmsnorm(x) · attn_norm
//   q, k, v = y1·Wqᵀ + bq, y1·Wkᵀ + bk, y1·Wvᵀ + bv;  q, k = rope(q, k, positions)
//   x' = x + attention(q, k, v)·Woᵀ;  y2 = rmsnorm(x') · mlp_norm
//   x'' = x' + (silu(y2·Wgᵀ) ∘ (y2·Wuᵀ))·Wdᵀ
// The residual adds are fused into the next rmsnorm (its `residual` input).
// The head is the fused LM-head log-prob: the [T, V] logits never exist.
//
// The weights are plain Tensors keyed by our parameter names
// (`layers.3.attn.q.weight`, `embed.weight`, …): the generation engine reads
// them through weight() and shares their memory; optimizer steps update them
// in place, so what it decodes with is always the current model.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "torl/gemm.h"
#include "torl/grpo.h"
#include "torl/sample.h"
#include "torl/tensor.h"

namespace torl::model {

struct Qwen2Config {
  int64_t hidden = 0, intermediate = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, vocab = 0;
  int64_t max_positions = 0;
  double rope_theta = 10000, eps = 1e-6;
  bool tied = true;  // lm_head shares embed.weight
};

// A packed batch in host memory: tokens, positions, targets [T] i32 (targets
// already in [0, V)); cu_seqlens [B + 1] i32; mask [T] f32 (0 where a token
// has no target or does not count).
struct Batch {
  Tensor tokens, positions, cu_seqlens, targets, mask;
};

// How a step splits and saves: micro-batches of whole sequences of at most
// `micro_batch_tokens` tokens each (0: one micro-batch; a longer sequence
// gets one of its own); `recompute`: keep only each layer's input and redo
// the layer's forward during backward (gradient checkpointing).
struct StepOptions {
  int64_t micro_batch_tokens = 0;
  bool recompute = false;
};

struct LossSpec {
  enum class Kind { CrossEntropy, Grpo } kind = Kind::CrossEntropy;
  double temperature = 1;
  // GRPO: host [T] f32 tensors (ref_logp may be undefined when kl_coef = 0).
  Tensor old_logp, advantages, ref_logp;
  GrpoLossOptions grpo;
  // When this batch is one part of a larger step: that step's Σ mask and sequence
  // count, so the parts' losses and gradients add up to the whole's (0: this batch's own).
  double norm_tokens = 0;
  int64_t norm_seqs = 0;
};

struct StepResult {
  double loss = 0, tokens = 0;
  // GRPO terms and statistics (masked token means over the batch; ratio_max the max).
  double pg_loss = 0, kl_loss = 0, entropy_loss = 0;
  double clip_fraction = 0, clip_fraction_lower = 0, approx_kl = 0, kl_mean = 0, entropy_mean = 0;
  double ratio_mean = 0, ratio_max = 0;
  int64_t micro_batches = 0;
  int64_t peak_activation_bytes = 0;  // activations saved for backward, at their peak
};

struct LogprobResult {
  Tensor logprob, entropy;  // host [T] f32
  int64_t micro_batches = 0;
  int64_t peak_activation_bytes = 0;
};

// The generation engine's paged KV cache: per layer K and V
// [num_blocks, block_size, Hkv, Dh] in the model's dtype, on its device.
struct KvCache {
  std::vector<Tensor> k, v;
};

// One engine step over a mixed batch, in host memory: sequence b brings
// tokens [cu_seqlens[b], cu_seqlens[b+1]) (a prefill chunk, or the one token
// it last sampled), to be cached at positions context_lens[b] − n_b … context_lens[b] − 1
// through its row of block_tables [B, max_blocks]. copy_src/copy_dst [N]: whole
// blocks copied before anything is written (copy-on-write). sample_seqs [R]: the
// sequence whose last new token's next-token distribution row r samples
// (a sequence may appear several times: n samples of one prompt); params: R rows.
// weight_version ≥ 0 (CPU): step with the linear weights packed for the GEMM once per version
// (repacked when it moves, i.e. after the weights changed); −1: pack per call, keep no copy.
struct GenStep {
  Tensor tokens, cu_seqlens, context_lens, block_tables;  // i32
  Tensor copy_src, copy_dst, sample_seqs;                 // i32
  SampleParams params;
  int64_t weight_version = -1;
  // Sample among ids [0, vocab) only, e.g. a tokenizer's ids when the head is padded past them (0: all).
  int64_t vocab = 0;
};

struct GenResult {
  Tensor ids;           // [R] i32
  Tensor logprob;       // [R] f32 under the truncated distribution sampled
  Tensor temp_logprob;  // [R] f32 under softmax(logits / temperature) (temperature 1 for greedy rows)
};

class Qwen2 {
 public:
  Qwen2(const Qwen2Config& config, Device device, DType dtype);

  const Qwen2Config& config() const { return cfg_; }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }

  // Every parameter the config implies, in checkpoint order, with its shape.
  const std::vector<std::pair<std::string, Shape>>& parameter_specs() const { return specs_; }
  // Stores a weight (any float dtype, any device): checks the name and the
  // shape, converts to the model's dtype and device.
  void set_weight(const std::string& name, const Tensor& t);
  // The live weight (shared memory); throws naming a missing one.
  const Tensor& weight(const std::string& name) const;
  // Throws naming the first parameter never set.
  void check_complete() const;
  // Accumulated f32 gradients (an undefined Tensor where none yet); later
  // backward passes add into these tensors in place (add_inplace).
  std::vector<std::pair<std::string, Tensor>> gradients() const;
  void zero_grad();

  // Checks a host batch against the model (shapes, ranges); `op` names the caller.
  void check_batch(const Batch& b, const char* op) const;
  // Log-probs of the targets and the entropies, without grad.
  LogprobResult logprobs(const Batch& b, double temperature, const StepOptions& o);
  // Forward, loss, backward; gradients accumulate (until zero_grad).
  StepResult forward_backward(const Batch& b, const LossSpec& spec, const StepOptions& o);

  // Checks a cache (shapes, dtype, device) and a step against it and the model; `op` names the caller.
  void check_generate(const KvCache& cache, const GenStep& s, const char* op) const;
  // The new tokens' K/V into the cache, attention over each sequence's cached
  // context, the LM head on the sampled rows only, and the sampled tokens.
  GenResult generate_step(const KvCache& cache, const GenStep& s);

 private:
  struct LayerActs;
  struct Micro;
  struct Forward;

  const Tensor& w(int64_t layer, const char* suffix) const;
  const std::string& head_name() const;
  // x · weight(name)ᵀ (+ bias), with the micro-batch's packed copy of the weight when it has one.
  Tensor linear(const Micro& mb, const std::string& name, const Tensor& x, const Tensor* bias) const;
  // The LM head over the sampling rows h [R, D] → logits [R, vocab] (0: all V).
  Tensor head_logits(const Micro& mb, const Tensor& h, int64_t vocab) const;
  // The engine's packed linear weights for `version` (CPU); −1 frees them.
  void pack_weights(int64_t version);
  const Tensor& head() const;
  void accumulate(const std::string& name, Tensor g);
  void accumulate(int64_t layer, const char* suffix, Tensor g);
  Micro upload(const Batch& b, int64_t seq0, int64_t seq1) const;
  Tensor layer_forward(int64_t l, LayerActs& a, const Micro& mb) const;
  Tensor layer_backward(int64_t l, LayerActs& a, const Micro& mb, const Tensor& dx);
  Forward forward(const Micro& mb, bool save, bool recompute) const;
  void backward(Forward& f, const Micro& mb, const Tensor& dhidden, bool recompute);

  Qwen2Config cfg_;
  Device device_;
  DType dtype_;
  std::vector<std::pair<std::string, Shape>> specs_;
  std::map<std::string, Tensor> weights_;
  std::map<std::string, Tensor> grads_;
  std::map<std::string, PackedNT> packed_;  // the engine's packed linear weights (CPU)
  int64_t packed_version_ = -1;
  mutable std::mutex busy_;  // held by a running step; gradients()/zero_grad() refuse meanwhile
};

}  // namespace torl::model
