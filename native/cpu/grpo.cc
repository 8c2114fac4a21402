// GRPO loss and advantages on the CPU: one pass over the tokens in float64
// (T is at most a few hundred thousand; the cost is the memory read once).
#include "torl/grpo.h"
#include "torl/grpo_terms.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include "torl/registry.h"

namespace torl::cpu {

namespace {

Tensor as_f32(const Tensor& t) { return t.dtype == DType::F32 ? t : to_dtype(t, DType::F32); }

// Aggregation weights w[t] (loss = Σ_t w[t] · ℓ[t]) for each mode; see grpo.h.
std::vector<double> agg_weights(const float* m, int64_t T, LossAgg agg, const Tensor* cu_seqlens) {
  std::vector<double> w(T, 0.0);
  if (agg == LossAgg::TokenMean) {
    double count = 0;
    for (int64_t t = 0; t < T; ++t) count += m[t];
    if (count != 0)
      for (int64_t t = 0; t < T; ++t) w[t] = m[t] / count;
    return w;
  }
  const int32_t* cu = cu_seqlens->ptr<int32_t>();
  const int64_t S = cu_seqlens->dim(0) - 1;
  for (int64_t s = 0; s < S; ++s) {
    double den = static_cast<double>(S);
    if (agg == LossAgg::SeqMeanTokenMean) {
      double count = 0;
      for (int64_t t = cu[s]; t < cu[s + 1]; ++t) count += m[t];
      if (count == 0) continue;  // an all-masked sequence contributes 0
      den *= count;
    }
    for (int64_t t = cu[s]; t < cu[s + 1]; ++t) w[t] = m[t] / den;
  }
  return w;
}

GrpoLossOut grpo_loss(const Tensor& logp, const Tensor& old_logp, const Tensor& advantages, const Tensor& mask,
                      const Tensor* ref_logp, const Tensor* entropy, const Tensor* cu_seqlens,
                      const GrpoLossOptions& o) {
  const int64_t T = logp.dim(0);
  const Tensor mf = as_f32(mask);
  const float *lp = logp.ptr<float>(), *old = old_logp.ptr<float>(), *adv = advantages.ptr<float>();
  const float* m = mf.ptr<float>();
  const float* ref = ref_logp ? ref_logp->ptr<float>() : nullptr;
  const float* ent = entropy ? entropy->ptr<float>() : nullptr;
  const std::vector<double> w = agg_weights(m, T, o.agg, cu_seqlens);
  GrpoLossOut out;
  out.dlogp = empty({T}, DType::F32, Device{});
  float* dlp = out.dlogp.ptr<float>();
  float* dent = nullptr;
  if (o.entropy_coef != 0) {
    out.dentropy = empty({T}, DType::F32, Device{});
    dent = out.dentropy.ptr<float>();
  }
  double clipped = 0, lower = 0, neg_kl = 0, kl_sum = 0, ent_sum = 0, ratio_sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    const double d = static_cast<double>(lp[t]) - old[t];
    const grpo::PgTerm p = grpo::pg_term(d, adv[t], o.clip_low, o.clip_high, o.dual_clip, o.clip_ratio_c);
    const double r = p.ratio;
    double g = p.dpg;
    out.pg_loss += w[t] * p.pg;
    if (ref) {
      const grpo::KlTerm k = grpo::kl_term(lp[t], ref[t], o.kl_type);
      out.kl_loss += w[t] * k.value;
      g += o.kl_coef * k.grad;
      kl_sum += m[t] * k.value;
    }
    if (ent) {
      out.entropy_loss += w[t] * ent[t];
      ent_sum += m[t] * ent[t];
    }
    if (dent) dent[t] = static_cast<float>(-o.entropy_coef * w[t]);
    dlp[t] = static_cast<float>(w[t] * g);
    clipped += m[t] * p.clipped;
    lower += m[t] * p.lower;
    neg_kl += m[t] * -grpo::clamp(d, -20.0, 20.0);
    ratio_sum += m[t] * r;
    if (m[t] > 0) out.ratio_max = std::max(out.ratio_max, r);
    out.tokens += m[t];
  }
  out.loss = out.pg_loss + o.kl_coef * out.kl_loss - o.entropy_coef * out.entropy_loss;
  const double inv = out.tokens != 0 ? 1.0 / out.tokens : 0.0;
  out.clip_fraction = clipped * inv;
  out.clip_fraction_lower = lower * inv;
  out.approx_kl = neg_kl * inv;
  out.kl_mean = kl_sum * inv;
  out.entropy_mean = ent_sum * inv;
  out.ratio_mean = ratio_sum * inv;
  return out;
}

Tensor grpo_advantages(const Tensor& rewards, const Tensor* group_ids, const GrpoAdvantagesOptions& o) {
  const int64_t N = rewards.dim(0);
  const float* r = rewards.ptr<float>();
  std::vector<std::vector<int64_t>> groups;
  if (group_ids) {
    std::unordered_map<int32_t, size_t> index;
    const int32_t* g = group_ids->ptr<int32_t>();
    for (int64_t i = 0; i < N; ++i) {
      auto [it, fresh] = index.emplace(g[i], groups.size());
      if (fresh) groups.emplace_back();
      groups[it->second].push_back(i);
    }
  } else {
    for (int64_t i = 0; i < N; ++i) {
      if (i % o.group_size == 0) groups.emplace_back();
      groups.back().push_back(i);
    }
  }
  Tensor out = zeros({N}, DType::F32, Device{});
  float* a = out.ptr<float>();
  for (const auto& idx : groups) {
    const double n = static_cast<double>(idx.size());
    const bool all_equal = std::all_of(idx.begin(), idx.end(), [&](int64_t i) { return r[i] == r[idx[0]]; });
    if (idx.size() == 1 || all_equal) continue;  // zeros
    double mean = 0, var = 0;
    for (int64_t i : idx) mean += r[i];
    mean /= n;
    for (int64_t i : idx) var += (r[i] - mean) * (r[i] - mean);
    const double std_dev = std::sqrt(var / (n - 1));
    for (int64_t i : idx) a[i] = static_cast<float>(o.norm_std ? (r[i] - mean) / (std_dev + o.eps) : r[i] - mean);
  }
  return out;
}

}  // namespace

TORL_REGISTER_KERNEL(grpo_loss, CPU, grpo_loss);
TORL_REGISTER_KERNEL(grpo_advantages, CPU, grpo_advantages);

}  // namespace torl::cpu
