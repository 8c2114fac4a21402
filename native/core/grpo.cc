// grpo: argument validation and backend dispatch.
#include "torl/grpo.h"

#include <cmath>

#include "torl/cuda.h"
#include "torl/error.h"
#include "torl/registry.h"
#include "train_checks.h"

namespace torl {

namespace {

void check_token_vec(const Tensor& t, const Tensor& logp, const char* name, std::initializer_list<DType> dtypes) {
  const char* op = "grpoLoss";
  tcheck::dtype_in(t, op, name, dtypes);
  tcheck::vec(t, logp.dim(0), op, name, "T, the length of logp");
  tcheck::same_device(logp, "logp", t, name, op);
}

}  // namespace

void grpo_loss_check(const Tensor& logp, const Tensor& old_logp, const Tensor& advantages, const Tensor& mask,
                     const Tensor* ref_logp, const Tensor* entropy, const Tensor* cu_seqlens,
                     const GrpoLossOptions& o) {
  const char* op = "grpoLoss";
  tcheck::dtype_in(logp, op, "logp", {DType::F32});
  TORL_CHECK(logp.ndim() == 1, op, ": logp must be 1-D [T], got shape ", logp.shape_str());
  check_token_vec(old_logp, logp, "oldLogp", {DType::F32});
  check_token_vec(advantages, logp, "advantages", {DType::F32});
  check_token_vec(mask, logp, "mask", {DType::F32, DType::U8});
  TORL_CHECK(o.clip_low > 0 && o.clip_low < 1, op, ": clipLow must be in (0, 1), got ", o.clip_low);
  TORL_CHECK(o.clip_high > 0, op, ": clipHigh must be > 0, got ", o.clip_high);
  TORL_CHECK(!o.dual_clip || o.clip_ratio_c > 1, op, ": clipRatioC (the dual-clip bound) must be > 1, got ",
             o.clip_ratio_c);
  TORL_CHECK(o.kl_coef >= 0, op, ": klCoef must be ≥ 0, got ", o.kl_coef);
  if (o.kl_coef != 0) TORL_CHECK(ref_logp, op, ": klCoef is ", o.kl_coef, " but refLogp was not given");
  if (ref_logp) check_token_vec(*ref_logp, logp, "refLogp", {DType::F32});
  if (o.entropy_coef != 0) TORL_CHECK(entropy, op, ": entropyCoef is ", o.entropy_coef, " but entropy was not given");
  if (entropy) check_token_vec(*entropy, logp, "entropy", {DType::F32});
  if (o.agg != LossAgg::TokenMean)
    TORL_CHECK(cu_seqlens, op, ": the seq-mean aggregations need cuSeqlens (the packed sequence boundaries)");
  if (cu_seqlens) {
    tcheck::same_device(logp, "logp", *cu_seqlens, "cuSeqlens", op);
    tcheck::cu_seqlens(*cu_seqlens, logp.dim(0), op);
  }
  if (logp.device().is_cuda()) cuda::require(logp.device(), op);
}

GrpoLossOut grpo_loss(const Tensor& logp, const Tensor& old_logp, const Tensor& advantages, const Tensor& mask,
                      const Tensor* ref_logp, const Tensor* entropy, const Tensor* cu_seqlens,
                      const GrpoLossOptions& o) {
  grpo_loss_check(logp, old_logp, advantages, mask, ref_logp, entropy, cu_seqlens, o);
  return kernel<grpo_loss_t>("grpo_loss", logp.device())(logp, old_logp, advantages, mask, ref_logp, entropy,
                                                         cu_seqlens, o);
}

void grpo_advantages_check(const Tensor& rewards, const Tensor* group_ids, const GrpoAdvantagesOptions& o) {
  const char* op = "grpoAdvantages";
  tcheck::dtype_in(rewards, op, "rewards", {DType::F32});
  TORL_CHECK(rewards.ndim() == 1, op, ": rewards must be 1-D [N], got shape ", rewards.shape_str());
  const int64_t N = rewards.dim(0);
  TORL_CHECK(o.eps >= 0, op, ": eps must be ≥ 0, got ", o.eps);
  if (group_ids) {
    TORL_CHECK(o.group_size == 0, op, ": give groupSize or groupIds, not both");
    tcheck::dtype_in(*group_ids, op, "groupIds", {DType::I32});
    tcheck::vec(*group_ids, N, op, "groupIds", "N, the length of rewards");
    tcheck::same_device(rewards, "rewards", *group_ids, "groupIds", op);
  } else {
    TORL_CHECK(o.group_size >= 1, op, ": groupSize must be ≥ 1 (or give groupIds), got ", o.group_size);
    TORL_CHECK(N % o.group_size == 0, op, ": rewards has ", N, " entries, not a multiple of groupSize ", o.group_size);
  }
  if (rewards.device().is_cuda()) cuda::require(rewards.device(), op);
}

Tensor grpo_advantages(const Tensor& rewards, const Tensor* group_ids, const GrpoAdvantagesOptions& o) {
  grpo_advantages_check(rewards, group_ids, o);
  return kernel<grpo_advantages_t>("grpo_advantages", rewards.device())(rewards, group_ids, o);
}

}  // namespace torl
