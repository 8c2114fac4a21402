// swiglu: argument validation and backend dispatch.
#include "torl/swiglu.h"

#include "layer_checks.h"
#include "torl/registry.h"

namespace torl {

namespace {

void check_pair(const Tensor& gate, const Tensor& up, const char* op) {
  checks::floating(gate, op, "gate");
  checks::floating(up, op, "up");
  checks::same_shape(gate, "gate", up, "up", op);
  checks::same_device(gate, "gate", up, "up", op);
}

}  // namespace

void swiglu_check(const Tensor& gate, const Tensor& up) {
  check_pair(gate, up, "swiglu");
  checks::usable_device(gate, "swiglu");
}

Tensor swiglu_forward(const Tensor& gate, const Tensor& up) {
  swiglu_check(gate, up);
  return kernel<swiglu_forward_t>("swiglu_forward", gate.device())(gate, up);
}

void swiglu_backward_check(const Tensor& dy, const Tensor& gate, const Tensor& up) {
  const char* op = "swigluBackward";
  check_pair(gate, up, op);
  checks::floating(dy, op, "dy");
  checks::same_shape(gate, "gate", dy, "dy", op);
  checks::same_device(gate, "gate", dy, "dy", op);
  checks::usable_device(gate, op);
}

SwigluGrads swiglu_backward(const Tensor& dy, const Tensor& gate, const Tensor& up) {
  swiglu_backward_check(dy, gate, up);
  return kernel<swiglu_backward_t>("swiglu_backward", gate.device())(dy, gate, up);
}

}  // namespace torl
