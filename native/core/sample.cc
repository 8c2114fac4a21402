// sample: argument validation and backend dispatch.
#include "torl/sample.h"

#include <cmath>

#include "torl/cuda.h"
#include "torl/error.h"
#include "torl/registry.h"
#include "train_checks.h"

namespace torl {

void sample_check(const Tensor& logits, const SampleParams& p) {
  const char* op = "sample";
  tcheck::dtype_in(logits, op, "logits", {DType::F32, DType::BF16});
  TORL_CHECK(logits.ndim() == 2 && logits.dim(1) >= 1, op, ": logits must be 2-D [B, V] with V ≥ 1, got shape ",
             logits.shape_str());
  const size_t B = static_cast<size_t>(logits.dim(0));
  TORL_CHECK(p.temperature.size() == B && p.top_k.size() == B && p.top_p.size() == B && p.min_p.size() == B &&
                 p.seed.size() == B && p.offset.size() == B,
             op, ": every per-row option needs one entry per row of logits (B = ", B, ")");
  for (size_t b = 0; b < B; ++b) {
    TORL_CHECK(std::isfinite(p.temperature[b]) && p.temperature[b] >= 0, op, ": temperature[", b,
               "] must be ≥ 0, got ", p.temperature[b]);
    TORL_CHECK(p.top_k[b] >= 0, op, ": topK[", b, "] must be ≥ 0 (0 = off), got ", p.top_k[b]);
    TORL_CHECK(p.top_p[b] > 0 && p.top_p[b] <= 1, op, ": topP[", b, "] must be in (0, 1], got ", p.top_p[b]);
    TORL_CHECK(p.min_p[b] >= 0 && p.min_p[b] < 1, op, ": minP[", b, "] must be in [0, 1), got ", p.min_p[b]);
  }
  if (logits.device().is_cuda()) cuda::require(logits.device(), op);
}

SampleOut sample(const Tensor& logits, const SampleParams& p) {
  sample_check(logits, p);
  return kernel<sample_t>("sample", logits.device())(logits, p);
}

}  // namespace torl
