// rmsnorm: argument validation and backend dispatch.
#include "torl/rmsnorm.h"

#include "layer_checks.h"
#include "torl/registry.h"

namespace torl {

namespace {

// [T, D] activations beside w [D].
void check_rows(const Tensor& t, const char* name, const Tensor& w, const char* op) {
  checks::floating(t, op, name);
  TORL_CHECK(t.ndim() == 2, op, ": ", name, " must be 2-D [T, D], got shape ", t.shape_str());
  TORL_CHECK(t.dim(1) == w.dim(0), op, ": ", name, " is ", t.shape_str(), " but w is ", w.shape_str(),
             ": the last dimension of ", name, " must be D = ", w.dim(0));
  checks::same_device(w, "w", t, name, op);
}

void check_weight(const Tensor& w, const char* op) {
  checks::floating(w, op, "w");
  TORL_CHECK(w.ndim() == 1, op, ": w must be 1-D [D], got shape ", w.shape_str());
}

}  // namespace

void rmsnorm_check(const Tensor& x, const Tensor& w, const Tensor* residual, double eps) {
  const char* op = "rmsnorm";
  check_weight(w, op);
  check_rows(x, "x", w, op);
  if (residual) {
    checks::floating(*residual, op, "residual");
    checks::same_shape(x, "x", *residual, "residual", op);
    checks::same_device(x, "x", *residual, "residual", op);
  }
  TORL_CHECK(eps >= 0, op, ": option eps must be ≥ 0, got ", eps);
  checks::usable_device(x, op);
}

RmsnormOut rmsnorm_forward(const Tensor& x, const Tensor& w, const Tensor* residual, double eps) {
  rmsnorm_check(x, w, residual, eps);
  return kernel<rmsnorm_forward_t>("rmsnorm_forward", x.device())(x, w, residual, eps);
}

void rmsnorm_backward_check(const Tensor& dy, const Tensor& s, const Tensor& w, const Tensor& rstd,
                            const Tensor* dresidual) {
  const char* op = "rmsnormBackward";
  check_weight(w, op);
  check_rows(dy, "dy", w, op);
  check_rows(s, "s", w, op);
  checks::same_shape(dy, "dy", s, "s", op);
  checks::dtype_is(rstd, DType::F32, op, "rstd");
  TORL_CHECK(rstd.ndim() == 1 && rstd.dim(0) == s.dim(0), op, ": rstd must be [", s.dim(0), "] (T), got ",
             rstd.shape_str());
  checks::same_device(s, "s", rstd, "rstd", op);
  if (dresidual) {
    checks::floating(*dresidual, op, "dresidual");
    checks::same_shape(s, "s", *dresidual, "dresidual", op);
    checks::same_device(s, "s", *dresidual, "dresidual", op);
  }
  checks::usable_device(s, op);
}

RmsnormGrads rmsnorm_backward(const Tensor& dy, const Tensor& s, const Tensor& w, const Tensor& rstd,
                              const Tensor* dresidual) {
  rmsnorm_backward_check(dy, s, w, rstd, dresidual);
  return kernel<rmsnorm_backward_t>("rmsnorm_backward", s.device())(dy, s, w, rstd, dresidual);
}

}  // namespace torl
