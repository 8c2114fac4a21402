// grpo — the GRPO policy loss over per-token log-probs and the group-normalised
// advantages. The loss fuses veRL's compute_policy_loss (clipped surrogate with
// asymmetric clip and dual clip), kl_penalty (k1 / k2 / k3 "low_var_kl") and the
// entropy bonus, each aggregated by agg_loss over the loss mask; it returns the
// loss, its gradient with respect to logp (and entropy) and the statistics, in
// one pass over T, never building the [B, L] padded matrices veRL uses.
//
// Per token (r = exp(clamp(logp − oldLogp, −20, 20)), A = advantage):
//   pg  = max(−A r, −A clamp(r, 1 − clipLow, 1 + clipHigh)),  then for A < 0 with
//         dual clip: min(pg, −A c)
//   kl  = k1: logp − ref | k2: ½ (logp − ref)² | k3: clamp(e^d − d − 1, −10, 10), d = clamp(ref − logp, −20, 20)
//   loss = agg(pg) + klCoef · agg(kl) − entropyCoef · agg(entropy)
// Aggregations (the weights w[t] with loss = Σ_t w[t] · ℓ[t]; S = number of sequences):
//   token-mean          w = mask / Σ mask
//   seq-mean-token-sum  w = mask / S
//   seq-mean-token-mean w = mask / (S · Σ_{t ∈ seq} mask)
// Gradients follow PyTorch's autograd of veRL's code: clamps pass gradient on
// [min, max] inclusive; max/min ties (which only occur where both sides have the
// same gradient, or A = 0) pass it whole.
//
// Where we differ from veRL: a loss mask summing to 0 gives 0 (veRL divides by
// Σ mask + 1e-8, also 0); a sequence whose mask is all zero contributes 0 under
// seq-mean-token-mean (veRL gives NaN) but still counts in S; sequences are
// packed (cuSeqlens), not padded rows.
#pragma once
#include <cstdint>

#include "torl/tensor.h"

namespace torl {

enum class KlType { K1, K2, K3 };
enum class LossAgg { TokenMean, SeqMeanTokenSum, SeqMeanTokenMean };

struct GrpoLossOptions {
  double clip_low = 0.2, clip_high = 0.2;  // ratio clamped to [1 − clip_low, 1 + clip_high]
  bool dual_clip = true;                   // veRL always applies it (clip_ratio_c = 3)
  double clip_ratio_c = 3.0;               // c > 1
  double kl_coef = 0;                      // 0: no KL term (ref_logp not needed)
  KlType kl_type = KlType::K3;
  double entropy_coef = 0;                 // 0: no entropy term (entropy still feeds the statistic)
  LossAgg agg = LossAgg::TokenMean;
};

struct GrpoLossOut {
  Tensor dlogp;     // [T] f32, d loss / d logp
  Tensor dentropy;  // [T] f32, d loss / d entropy (only when entropy_coef ≠ 0)
  double loss = 0, pg_loss = 0, kl_loss = 0, entropy_loss = 0;  // the aggregated terms
  // Masked token means (veRL's metrics): the upper clip fired (pg_clipfrac), the
  // dual clip fired (pg_clipfrac_lower), oldLogp − logp (ppo_kl), the KL
  // estimator, the entropy; the ratio's masked mean and max.
  double clip_fraction = 0, clip_fraction_lower = 0, approx_kl = 0, kl_mean = 0, entropy_mean = 0;
  double ratio_mean = 0, ratio_max = 0;
  double tokens = 0;  // Σ mask
};

// logp, old_logp, advantages [T] f32; mask [T] f32|u8; ref_logp [T] f32 (required
// when kl_coef ≠ 0); entropy [T] f32 (required when entropy_coef ≠ 0);
// cu_seqlens [S + 1] i32 (required by the seq-mean aggregations).
void grpo_loss_check(const Tensor& logp, const Tensor& old_logp, const Tensor& advantages, const Tensor& mask,
                     const Tensor* ref_logp, const Tensor* entropy, const Tensor* cu_seqlens,
                     const GrpoLossOptions& o);
GrpoLossOut grpo_loss(const Tensor& logp, const Tensor& old_logp, const Tensor& advantages, const Tensor& mask,
                      const Tensor* ref_logp, const Tensor* entropy, const Tensor* cu_seqlens,
                      const GrpoLossOptions& o);

// Advantages per group: (r − mean) / (std + eps) with the unbiased std (veRL's
// compute_grpo_outcome_advantage), or r − mean when !norm_std (Dr. GRPO).
// Groups are consecutive runs of group_size rewards, or given by group_ids [N]
// i32 (any integers; members need not be adjacent). A group whose rewards are
// all equal gives exact zeros; a group of one gives 0 (veRL gives r / (1 + eps)).
struct GrpoAdvantagesOptions {
  int64_t group_size = 0;  // used when group_ids is null
  double eps = 1e-6;
  bool norm_std = true;
};
void grpo_advantages_check(const Tensor& rewards, const Tensor* group_ids, const GrpoAdvantagesOptions& o);
// rewards [N] f32 → advantages [N] f32.
Tensor grpo_advantages(const Tensor& rewards, const Tensor* group_ids, const GrpoAdvantagesOptions& o);

using grpo_loss_t = GrpoLossOut(const Tensor& logp, const Tensor& old_logp, const Tensor& advantages,
                                const Tensor& mask, const Tensor* ref_logp, const Tensor* entropy,
                                const Tensor* cu_seqlens, const GrpoLossOptions& o);
using grpo_advantages_t = Tensor(const Tensor& rewards, const Tensor* group_ids, const GrpoAdvantagesOptions& o);

}  // namespace torl
