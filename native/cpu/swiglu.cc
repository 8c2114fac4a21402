// swiglu on the CPU: elementwise, one pass, σ computed once per element.
#include "torl/swiglu.h"

#include <cmath>

#include "f32.h"
#include "torl/registry.h"

namespace torl::cpu {

namespace {
constexpr int64_t kBlock = 1 << 14;  // elements per work item
// σ(g) and 1 − σ(g), the latter without cancellation for large g (e·σ with
// e = exp(−g) when g ≥ 0, where e cannot overflow).
struct Sigmoid {
  float s, one_minus_s;
  explicit Sigmoid(float g) {
    const float e = std::exp(-g);
    s = 1.f / (1.f + e);
    one_minus_s = g >= 0.f ? e * s : 1.f - s;
  }
};
}  // namespace

static Tensor swiglu_forward(const Tensor& gate_in, const Tensor& up_in) {
  const Tensor gate = as_f32(gate_in), up = as_f32(up_in);
  Tensor y = empty_f32(gate.shape);
  const float* g = gate.ptr<float>();
  const float* u = up.ptr<float>();
  float* o = y.ptr<float>();
  parallel_blocks(gate.numel(), kBlock, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) o[i] = g[i] * Sigmoid(g[i]).s * u[i];
  });
  return cast_to(std::move(y), gate_in.dtype);
}

static SwigluGrads swiglu_backward(const Tensor& dy_in, const Tensor& gate_in, const Tensor& up_in) {
  const Tensor dy = as_f32(dy_in), gate = as_f32(gate_in), up = as_f32(up_in);
  Tensor dg = empty_f32(gate.shape), du = empty_f32(gate.shape);
  const float* d = dy.ptr<float>();
  const float* g = gate.ptr<float>();
  const float* u = up.ptr<float>();
  float* dgp = dg.ptr<float>();
  float* dup = du.ptr<float>();
  parallel_blocks(gate.numel(), kBlock, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) {
      const Sigmoid sg(g[i]);
      dup[i] = d[i] * g[i] * sg.s;
      dgp[i] = d[i] * u[i] * sg.s * (1.f + g[i] * sg.one_minus_s);
    }
  });
  return SwigluGrads{cast_to(std::move(dg), gate_in.dtype), cast_to(std::move(du), gate_in.dtype)};
}

TORL_REGISTER_KERNEL(swiglu_forward, CPU, swiglu_forward);
TORL_REGISTER_KERNEL(swiglu_backward, CPU, swiglu_backward);

}  // namespace torl::cpu
