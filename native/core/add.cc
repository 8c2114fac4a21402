// add: argument validation and backend dispatch.
#include "torl/add.h"

#include <cmath>

#include "layer_checks.h"
#include "torl/registry.h"

namespace torl {

namespace {

// Both forms check alike; `an`, `bn` name the two tensors.
void check_pair(const Tensor& a, const char* an, const Tensor& b, const char* bn, double alpha, const char* op) {
  checks::floating(a, op, an);
  checks::floating(b, op, bn);
  checks::same_shape(a, an, b, bn, op);
  checks::same_device(a, an, b, bn, op);
  TORL_CHECK(std::isfinite(alpha), op, ": option alpha must be finite, got ", alpha);
  checks::usable_device(a, op);
}

}  // namespace

void add_check(const Tensor& a, const Tensor& b, double alpha) { check_pair(a, "a", b, "b", alpha, "add"); }

void add_inplace_check(const Tensor& dst, const Tensor& src, double alpha) {
  check_pair(dst, "dst", src, "src", alpha, "addInPlace");
}

Tensor add_forward(const Tensor& a, const Tensor& b, double alpha) {
  add_check(a, b, alpha);
  return kernel<add_forward_t>("add_forward", a.device())(a, b, alpha);
}

void add_inplace(const Tensor& dst, const Tensor& src, double alpha) {
  add_inplace_check(dst, src, alpha);
  kernel<add_inplace_t>("add_inplace", dst.device())(dst, src, alpha);
}

}  // namespace torl
