// attention: argument validation and backend dispatch.
#include "torl/attention.h"

#include <cmath>

#include "layer_checks.h"
#include "train_checks.h"
#include "torl/registry.h"

namespace torl {

namespace {

// cu_seqlens: [B+1] i32, starting at 0, non-decreasing, ending at T (checked
// value by value on the host; a device tensor is copied there first, as the GRPO
// loss does: the kernels would leave tokens outside [cu[0], cu[B]) unwritten).
void check_cu_seqlens(const Tensor& cu, int64_t T, const char* op) {
  checks::dtype_is(cu, DType::I32, op, "cuSeqlens");
  TORL_CHECK(cu.ndim() == 1 && cu.dim(0) >= 1, op, ": cuSeqlens must be 1-D [B+1] with B ≥ 0, got shape ",
             cu.shape_str());
  Tensor keep;
  const int32_t* c = tcheck::host_i32(cu, keep);
  const int64_t n = cu.dim(0);
  TORL_CHECK(c[0] == 0, op, ": cuSeqlens must start at 0, got cuSeqlens[0] = ", c[0]);
  for (int64_t b = 1; b < n; ++b)
    TORL_CHECK(c[b] >= c[b - 1], op, ": cuSeqlens must be non-decreasing, got cuSeqlens[", b, "] = ", c[b],
               " < cuSeqlens[", b - 1, "] = ", c[b - 1]);
  TORL_CHECK(c[n - 1] == T, op, ": cuSeqlens must end at T = ", T, " (the tokens in q), got cuSeqlens[", n - 1,
             "] = ", c[n - 1]);
}

void check_qkv(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu, double scale, const char* op) {
  checks::floating(q, op, "q");
  checks::floating(k, op, "k");
  checks::floating(v, op, "v");
  TORL_CHECK(q.ndim() == 3, op, ": q must be 3-D [T, Hq, Dh], got shape ", q.shape_str());
  TORL_CHECK(k.ndim() == 3, op, ": k must be 3-D [T, Hkv, Dh], got shape ", k.shape_str());
  const int64_t T = q.dim(0), Hq = q.dim(1), Dh = q.dim(2), Hkv = k.dim(1);
  TORL_CHECK(k.dim(0) == T && k.dim(2) == Dh, op, ": k must be [", T, ", Hkv, ", Dh, "] to match q ",
             q.shape_str(), ", got ", k.shape_str());
  checks::same_shape(k, "k", v, "v", op);
  TORL_CHECK(k.dtype == q.dtype && v.dtype == q.dtype, op, ": q, k and v must share one dtype, got ",
             dtype_name(q.dtype), ", ", dtype_name(k.dtype), ", ", dtype_name(v.dtype));
  TORL_CHECK(Hkv > 0 && Hq % Hkv == 0, op, ": the KV heads of k (", Hkv, ") must divide the query heads of q (",
             Hq, ")");
  TORL_CHECK(Dh > 0 && Dh % 8 == 0, op, ": the head dimension Dh of q must be a positive multiple of 8, got ", Dh);
  TORL_CHECK(scale > 0 && std::isfinite(scale), op, ": option scale must be > 0, got ", scale);
  checks::same_device(q, "q", k, "k", op);
  checks::same_device(q, "q", v, "v", op);
  checks::same_device(q, "q", cu, "cuSeqlens", op);
  check_cu_seqlens(cu, T, op);
}

}  // namespace

double attention_default_scale(const Tensor& q) {
  return q.defined() && q.ndim() == 3 && q.dim(2) > 0 ? 1.0 / std::sqrt(static_cast<double>(q.dim(2))) : 1.0;
}

void attention_check(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens, double scale) {
  check_qkv(q, k, v, cu_seqlens, scale, "attention");
  checks::usable_device(q, "attention");
}

AttentionOut attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens,
                               double scale) {
  attention_check(q, k, v, cu_seqlens, scale);
  return kernel<attention_forward_t>("attention_forward", q.device())(q, k, v, cu_seqlens, scale);
}

void attention_backward_check(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                              const Tensor& out, const Tensor& lse, const Tensor& cu_seqlens, double scale) {
  const char* op = "attentionBackward";
  check_qkv(q, k, v, cu_seqlens, scale, op);
  checks::floating(dout, op, "dout");
  checks::floating(out, op, "out");
  checks::same_shape(q, "q", dout, "dout", op);
  checks::same_shape(q, "q", out, "out", op);
  checks::dtype_is(lse, DType::F32, op, "lse");
  TORL_CHECK(lse.ndim() == 2 && lse.dim(0) == q.dim(1) && lse.dim(1) == q.dim(0), op, ": lse must be [", q.dim(1),
             ", ", q.dim(0), "] ([Hq, T]), got ", lse.shape_str());
  checks::same_device(q, "q", dout, "dout", op);
  checks::same_device(q, "q", out, "out", op);
  checks::same_device(q, "q", lse, "lse", op);
  checks::usable_device(q, op);
}

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, const Tensor& cu_seqlens, double scale) {
  attention_backward_check(dout, q, k, v, out, lse, cu_seqlens, scale);
  return kernel<attention_backward_t>("attention_backward", q.device())(dout, q, k, v, out, lse, cu_seqlens, scale);
}

}  // namespace torl
