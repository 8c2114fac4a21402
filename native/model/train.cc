// Qwen2 steps over a packed batch: micro-batches of whole sequences, the
// no-grad log-probs, and forward + loss + backward for the SFT cross-entropy
// and the GRPO policy loss, normalised over the whole batch whatever the split.
#include <algorithm>
#include <cstring>

#include "model_internal.h"
#include "torl/error.h"
#include "torl/lm_head.h"

namespace torl::model {

namespace {

// Rows [t0, t1) of a 1-D host tensor, sharing its memory.
Tensor rows(const Tensor& t, int64_t t0, int64_t t1) {
  const size_t es = dtype_size(t.dtype);
  return borrow(static_cast<uint8_t*>(t.data()) + t0 * es, {t1 - t0}, t.dtype, [keep = t.storage](void*) {});
}

Tensor host_f32(const Tensor& t) { return to_device(t, Device{}); }

// Micro-batches as [seq0, seq1): consecutive sequences while they fit `budget`
// tokens (0: no limit); a sequence longer than the budget goes alone.
std::vector<std::pair<int64_t, int64_t>> plan(const Tensor& cu_seqlens, int64_t budget) {
  const int32_t* cu = cu_seqlens.ptr<int32_t>();
  const int64_t B = cu_seqlens.dim(0) - 1;
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t s0 = 0;
  for (int64_t s = 1; s < B; ++s)
    if (budget > 0 && cu[s + 1] - cu[s0] > budget) {
      out.push_back({s0, s});
      s0 = s;
    }
  out.push_back({s0, B});
  return out;
}

double masked_sum(const Tensor& mask, int64_t t0, int64_t t1) {
  double s = 0;
  for (int64_t t = t0; t < t1; ++t) s += mask.ptr<float>()[t];
  return s;
}

}  // namespace

Qwen2::Micro Qwen2::upload(const Batch& b, int64_t seq0, int64_t seq1) const {
  const int32_t* cu = b.cu_seqlens.ptr<int32_t>();
  Micro mb;
  mb.seq0 = seq0;
  mb.seq1 = seq1;
  mb.t0 = cu[seq0];
  mb.T = cu[seq1] - cu[seq0];
  mb.tokens = to_device(rows(b.tokens, mb.t0, mb.t0 + mb.T), device_);
  mb.positions = to_device(rows(b.positions, mb.t0, mb.t0 + mb.T), device_);
  mb.targets = to_device(rows(b.targets, mb.t0, mb.t0 + mb.T), device_);
  Tensor c = empty({seq1 - seq0 + 1}, DType::I32, Device{});
  for (int64_t s = seq0; s <= seq1; ++s) c.ptr<int32_t>()[s - seq0] = cu[s] - cu[seq0];
  mb.cu = to_device(c, device_);
  return mb;
}

LogprobResult Qwen2::logprobs(const Batch& b, double temperature, const StepOptions& o) {
  std::lock_guard<std::mutex> lk(busy_);
  check_complete();
  const int64_t T = b.tokens.dim(0);
  LogprobResult r;
  r.logprob = empty({T}, DType::F32, Device{});
  r.entropy = empty({T}, DType::F32, Device{});
  for (const auto& [s0, s1] : plan(b.cu_seqlens, o.micro_batch_tokens)) {
    const Micro mb = upload(b, s0, s1);
    if (mb.T == 0) continue;
    Forward f = forward(mb, false, false);
    LmHeadOut h = lm_head_logprob_forward(f.yf, head(), mb.targets, temperature);
    std::memcpy(r.logprob.ptr<float>() + mb.t0, host_f32(h.logprob).data(), mb.T * sizeof(float));
    std::memcpy(r.entropy.ptr<float>() + mb.t0, host_f32(h.entropy).data(), mb.T * sizeof(float));
    r.peak_activation_bytes = std::max(r.peak_activation_bytes, f.peak_bytes + h.scratch_bytes);
    ++r.micro_batches;
  }
  return r;
}

StepResult Qwen2::forward_backward(const Batch& b, const LossSpec& spec, const StepOptions& o) {
  std::lock_guard<std::mutex> lk(busy_);
  check_complete();
  const bool grpo = spec.kind == LossSpec::Kind::Grpo;
  const int64_t S = b.cu_seqlens.dim(0) - 1;
  StepResult r;
  r.tokens = masked_sum(b.mask, 0, b.tokens.dim(0));
  if (r.tokens == 0) return r;  // nothing counts: zero loss, no gradient
  const double norm = spec.norm_tokens > 0 ? spec.norm_tokens : r.tokens;
  const double seqs = spec.norm_seqs > 0 ? static_cast<double>(spec.norm_seqs) : static_cast<double>(S);
  for (const auto& [s0, s1] : plan(b.cu_seqlens, o.micro_batch_tokens)) {
    const Micro mb = upload(b, s0, s1);
    const double tokens = masked_sum(b.mask, mb.t0, mb.t0 + mb.T);
    if (tokens == 0) continue;  // every aggregation weighs tokens by the mask
    ++r.micro_batches;
    Forward f = forward(mb, true, o.recompute);
    LmHeadOut h = lm_head_logprob_forward(f.yf, head(), mb.targets, spec.temperature);
    const Tensor mask = rows(b.mask, mb.t0, mb.t0 + mb.T);
    Tensor dlogp = empty({mb.T}, DType::F32, Device{}), dent;
    float* dl = dlogp.ptr<float>();
    if (!grpo) {  // mean over the batch's masked tokens of −log p(target)
      const Tensor lp = host_f32(h.logprob);
      for (int64_t t = 0; t < mb.T; ++t) {
        const float m = mask.ptr<float>()[t];
        r.loss -= m * lp.ptr<float>()[t] / norm;
        dl[t] = static_cast<float>(-m / norm);
      }
    } else {
      // Each micro-batch's loss is normalised over itself; scale it to its
      // share of the whole batch's normaliser (tokens, or sequences).
      const double share = spec.grpo.agg == LossAgg::TokenMean ? tokens / norm : static_cast<double>(s1 - s0) / seqs;
      const double w = tokens / norm;  // weight of this micro-batch's token means
      const Tensor ref = spec.ref_logp.defined() ? to_device(rows(spec.ref_logp, mb.t0, mb.t0 + mb.T), device_) : Tensor{};
      GrpoLossOut g = grpo_loss(h.logprob, to_device(rows(spec.old_logp, mb.t0, mb.t0 + mb.T), device_),
                                to_device(rows(spec.advantages, mb.t0, mb.t0 + mb.T), device_), to_device(mask, device_),
                                ref.defined() ? &ref : nullptr, &h.entropy,  // entropy always: its mean is a statistic
                                &mb.cu, spec.grpo);
      r.loss += share * g.loss;
      r.pg_loss += share * g.pg_loss;
      r.kl_loss += share * g.kl_loss;
      r.entropy_loss += share * g.entropy_loss;
      r.clip_fraction += w * g.clip_fraction;
      r.clip_fraction_lower += w * g.clip_fraction_lower;
      r.approx_kl += w * g.approx_kl;
      r.kl_mean += w * g.kl_mean;
      r.entropy_mean += w * g.entropy_mean;
      r.ratio_mean += w * g.ratio_mean;
      r.ratio_max = std::max(r.ratio_max, g.ratio_max);
      const Tensor gl = host_f32(g.dlogp);
      for (int64_t t = 0; t < mb.T; ++t) dl[t] = static_cast<float>(share * gl.ptr<float>()[t]);
      if (g.dentropy.defined()) {
        dent = host_f32(g.dentropy);
        for (int64_t t = 0; t < mb.T; ++t) dent.ptr<float>()[t] = static_cast<float>(share * dent.ptr<float>()[t]);
        dent = to_device(dent, device_);
      }
    }
    dlogp = to_device(dlogp, device_);
    LmHeadGrads hg = lm_head_logprob_backward(&dlogp, dent.defined() ? &dent : nullptr, f.yf, head(), mb.targets, h.lse,
                                              h.entropy, spec.temperature);
    accumulate(cfg_.tied ? "embed.weight" : "lm_head.weight", std::move(hg.dweight));
    r.peak_activation_bytes =
        std::max(r.peak_activation_bytes, f.peak_bytes + std::max(h.scratch_bytes, hg.scratch_bytes));
    backward(f, mb, hg.dhidden, o.recompute);
    r.peak_activation_bytes = std::max(r.peak_activation_bytes, f.peak_bytes);
  }
  return r;
}

}  // namespace torl::model
