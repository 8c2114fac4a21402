// swiglu — the gated MLP activation of Qwen2:
//   forward:  y = silu(g) · u = g · σ(g) · u
//   backward: du = dy · silu(g),  dg = dy · u · σ(g) · (1 + g · (1 − σ(g)))
// Elementwise in one pass; σ is computed once per element.
// Outputs take gate's dtype.
#pragma once
#include "torl/tensor.h"

namespace torl {

// gate, up: equal shapes, f32/bf16.
void swiglu_check(const Tensor& gate, const Tensor& up);
void swiglu_backward_check(const Tensor& dy, const Tensor& gate, const Tensor& up);

Tensor swiglu_forward(const Tensor& gate, const Tensor& up);  // → gate's shape

struct SwigluGrads {
  Tensor dgate, dup;  // gate's shape
};
SwigluGrads swiglu_backward(const Tensor& dy, const Tensor& gate, const Tensor& up);

using swiglu_forward_t = Tensor(const Tensor& gate, const Tensor& up);
using swiglu_backward_t = SwigluGrads(const Tensor& dy, const Tensor& gate, const Tensor& up);

}  // namespace torl
