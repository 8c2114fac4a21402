// rope: argument validation and backend dispatch.
#include "torl/rope.h"

#include <cmath>

#include "layer_checks.h"
#include "torl/registry.h"

namespace torl {

void rope_check(const Tensor& q, const Tensor& k, const Tensor& positions, double theta, const char* op) {
  const bool fwd = op[4] == '\0';  // "rope" vs "ropeBackward"
  const char* qn = fwd ? "q" : "dq";
  const char* kn = fwd ? "k" : "dk";
  checks::floating(q, op, qn);
  checks::floating(k, op, kn);
  TORL_CHECK(q.ndim() == 3, op, ": ", qn, " must be 3-D [T, Hq, Dh], got shape ", q.shape_str());
  TORL_CHECK(k.ndim() == 3, op, ": ", kn, " must be 3-D [T, Hkv, Dh], got shape ", k.shape_str());
  TORL_CHECK(k.dim(0) == q.dim(0) && k.dim(2) == q.dim(2), op, ": ", kn, " must be [", q.dim(0), ", Hkv, ",
             q.dim(2), "] to match ", qn, " ", q.shape_str(), ", got ", k.shape_str());
  TORL_CHECK(q.dim(2) % 2 == 0, op, ": the head dimension Dh of ", qn, " must be even, got ", q.dim(2));
  checks::same_device(q, qn, k, kn, op);
  checks::dtype_is(positions, DType::I32, op, "positions");
  TORL_CHECK(positions.ndim() == 1 && positions.dim(0) == q.dim(0), op, ": positions must be [", q.dim(0),
             "] (T), got ", positions.shape_str());
  checks::same_device(q, qn, positions, "positions", op);
  TORL_CHECK(theta > 0 && std::isfinite(theta), op, ": option theta must be > 0, got ", theta);
  if (positions.device().is_cpu()) {
    const int32_t* p = positions.ptr<int32_t>();
    for (int64_t t = 0; t < positions.dim(0); ++t)
      TORL_CHECK(p[t] >= 0, op, ": positions[", t, "] = ", p[t], " is negative");
  }
  checks::usable_device(q, op);
}

RopeOut rope_forward(const Tensor& q, const Tensor& k, const Tensor& positions, double theta, bool in_place) {
  rope_check(q, k, positions, theta, "rope");
  return kernel<rope_forward_t>("rope_forward", q.device())(q, k, positions, theta, in_place);
}

RopeOut rope_backward(const Tensor& dq, const Tensor& dk, const Tensor& positions, double theta, bool in_place) {
  rope_check(dq, dk, positions, theta, "ropeBackward");
  return kernel<rope_backward_t>("rope_backward", dq.device())(dq, dk, positions, theta, in_place);
}

}  // namespace torl
