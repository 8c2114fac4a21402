// lm_head: argument validation and backend dispatch.
#include "torl/lm_head.h"

#include <cmath>

#include "torl/cuda.h"
#include "torl/error.h"
#include "torl/registry.h"
#include "train_checks.h"

namespace torl {

namespace {

void check_common(const Tensor& hidden, const Tensor& weight, const Tensor& targets, double temperature,
                  const char* op) {
  tcheck::dtype_in(hidden, op, "hidden", {DType::F32, DType::BF16});
  tcheck::dtype_in(weight, op, "weight", {DType::F32, DType::BF16});
  tcheck::dtype_in(targets, op, "targets", {DType::I32});
  TORL_CHECK(hidden.ndim() == 2, op, ": hidden must be 2-D [T, D], got shape ", hidden.shape_str());
  TORL_CHECK(weight.ndim() == 2 && weight.dim(0) >= 1, op, ": weight must be 2-D [V, D] with V ≥ 1, got shape ",
             weight.shape_str());
  TORL_CHECK(hidden.dim(1) == weight.dim(1), op, ": hidden is ", hidden.shape_str(), " and weight is ",
             weight.shape_str(), ": their last dimensions (D) must match");
  const int64_t T = hidden.dim(0), V = weight.dim(0);
  tcheck::vec(targets, T, op, "targets", "T");
  TORL_CHECK(std::isfinite(temperature) && temperature > 0, op, ": temperature must be > 0, got ", temperature);
  tcheck::same_device(hidden, "hidden", weight, "weight", op);
  tcheck::same_device(hidden, "hidden", targets, "targets", op);
  Tensor keep;
  const int32_t* ids = tcheck::host_i32(targets, keep);
  for (int64_t t = 0; t < T; ++t)
    TORL_CHECK(ids[t] >= 0 && ids[t] < V, op, ": targets[", t, "] = ", ids[t], " is out of range [0, ", V,
               ") (V = weight rows)");
  if (hidden.device().is_cuda()) cuda::require(hidden.device(), op);
}

void check_f32_vec(const Tensor& t, int64_t T, const Tensor& hidden, const char* op, const char* name) {
  tcheck::dtype_in(t, op, name, {DType::F32});
  tcheck::vec(t, T, op, name, "T");
  tcheck::same_device(hidden, "hidden", t, name, op);
}

}  // namespace

void lm_head_logprob_check(const Tensor& hidden, const Tensor& weight, const Tensor& targets, double temperature) {
  check_common(hidden, weight, targets, temperature, "lmHeadLogprob");
}

LmHeadOut lm_head_logprob_forward(const Tensor& hidden, const Tensor& weight, const Tensor& targets,
                                  double temperature) {
  lm_head_logprob_check(hidden, weight, targets, temperature);
  return kernel<lm_head_logprob_forward_t>("lm_head_logprob_forward", hidden.device())(hidden, weight, targets,
                                                                                       temperature);
}

void lm_head_logprob_backward_check(const Tensor* dlogprob, const Tensor* dentropy, const Tensor& hidden,
                                    const Tensor& weight, const Tensor& targets, const Tensor& lse,
                                    const Tensor& entropy, double temperature) {
  const char* op = "lmHeadLogprobBackward";
  check_common(hidden, weight, targets, temperature, op);
  const int64_t T = hidden.dim(0);
  TORL_CHECK(dlogprob || dentropy, op, ": give dlogprob, dentropy or both");
  if (dlogprob) check_f32_vec(*dlogprob, T, hidden, op, "dlogprob");
  if (dentropy) check_f32_vec(*dentropy, T, hidden, op, "dentropy");
  check_f32_vec(lse, T, hidden, op, "lse");
  check_f32_vec(entropy, T, hidden, op, "entropy");
}

LmHeadGrads lm_head_logprob_backward(const Tensor* dlogprob, const Tensor* dentropy, const Tensor& hidden,
                                     const Tensor& weight, const Tensor& targets, const Tensor& lse,
                                     const Tensor& entropy, double temperature) {
  lm_head_logprob_backward_check(dlogprob, dentropy, hidden, weight, targets, lse, entropy, temperature);
  return kernel<lm_head_logprob_backward_t>("lm_head_logprob_backward", hidden.device())(
      dlogprob, dentropy, hidden, weight, targets, lse, entropy, temperature);
}

void cross_entropy_check(const Tensor& hidden, const Tensor& weight, const Tensor& targets, const Tensor* mask,
                         double temperature) {
  const char* op = "crossEntropy";
  check_common(hidden, weight, targets, temperature, op);
  if (mask) {
    tcheck::dtype_in(*mask, op, "mask", {DType::F32, DType::U8});
    tcheck::vec(*mask, hidden.dim(0), op, "mask", "T");
    tcheck::same_device(hidden, "hidden", *mask, "mask", op);
  }
}

CrossEntropyOut cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& targets, const Tensor* mask,
                              double temperature, bool grad) {
  cross_entropy_check(hidden, weight, targets, mask, temperature);
  return kernel<cross_entropy_t>("cross_entropy", hidden.device())(hidden, weight, targets, mask, temperature, grad);
}

}  // namespace torl
