// linear: argument validation and backend dispatch. Every message names the
// argument at fault and what was expected.
#include "torl/linear.h"

#include "torl/cuda.h"
#include "torl/error.h"
#include "torl/registry.h"

namespace torl {

namespace {

void check_float(const Tensor& t, const char* op, const char* name) {
  TORL_CHECK(t.defined(), op, ": ", name, " has been disposed");
  TORL_CHECK(t.dtype == DType::F32 || t.dtype == DType::BF16, op, ": ", name, " must be f32 or bf16, got ",
             dtype_name(t.dtype));
}

void check_same_device(const Tensor& a, const char* an, const Tensor& b, const char* bn, const char* op) {
  TORL_CHECK(a.device() == b.device(), op, ": ", an, " is on ", a.device().str(), " but ", bn, " is on ",
             b.device().str());
}

}  // namespace

void linear_check(const Tensor& x, const Tensor& w, const Tensor* bias) {
  const char* op = "linear";
  check_float(x, op, "x");
  check_float(w, op, "w");
  TORL_CHECK(x.ndim() == 2, op, ": x must be 2-D [N, K], got shape ", x.shape_str());
  TORL_CHECK(w.ndim() == 2, op, ": w must be 2-D [M, K], got shape ", w.shape_str());
  TORL_CHECK(x.dim(1) == w.dim(1), op, ": x is ", x.shape_str(), " and w is ", w.shape_str(),
             ": their last dimensions (K) must match");
  check_same_device(x, "x", w, "w", op);
  if (bias) {
    check_float(*bias, op, "bias");
    TORL_CHECK(bias->ndim() == 1 && bias->dim(0) == w.dim(0), op, ": bias must be [", w.dim(0), "] (M), got ",
               bias->shape_str());
    check_same_device(x, "x", *bias, "bias", op);
  }
  if (x.device().is_cuda()) cuda::require(x.device(), op);
}

Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias) {
  linear_check(x, w, bias);
  return kernel<linear_forward_t>("linear_forward", x.device())(x, w, bias);
}

void linear_backward_check(const Tensor& dy, const Tensor& x, const Tensor& w) {
  const char* op = "linearBackward";
  check_float(dy, op, "dy");
  check_float(x, op, "x");
  check_float(w, op, "w");
  TORL_CHECK(x.ndim() == 2 && w.ndim() == 2 && dy.ndim() == 2, op, ": dy, x and w must be 2-D, got ",
             dy.shape_str(), ", ", x.shape_str(), ", ", w.shape_str());
  TORL_CHECK(x.dim(1) == w.dim(1), op, ": x is ", x.shape_str(), " and w is ", w.shape_str(),
             ": their last dimensions (K) must match");
  TORL_CHECK(dy.dim(0) == x.dim(0) && dy.dim(1) == w.dim(0), op, ": dy must be [", x.dim(0), ", ", w.dim(0),
             "] ([N, M]), got ", dy.shape_str());
  check_same_device(dy, "dy", x, "x", op);
  check_same_device(dy, "dy", w, "w", op);
  if (dy.device().is_cuda()) cuda::require(dy.device(), op);
}

LinearGrads linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool with_bias) {
  linear_backward_check(dy, x, w);
  return kernel<linear_backward_t>("linear_backward", dy.device())(dy, x, w, with_bias);
}

}  // namespace torl
