// rmsnorm on the CPU: one pass per row forward (sum, sum of squares, scale)
// and backward (the row dot product, then dx). dw sums over rows in fixed
// blocks of rows, each block's partial reduced in block order, so the result
// does not depend on the thread count or scheduling.
#include "torl/rmsnorm.h"

#include <cmath>
#include <vector>

#include "f32.h"
#include "torl/registry.h"

namespace torl::cpu {

namespace {

constexpr int64_t kRows = 32;  // rows per work item
constexpr int kLanes = 16;     // independent partial sums: lets GCC vectorise the reductions

// Σ a[j]² with kLanes partial sums.
float sum_squares(const float* a, int64_t n) {
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int u = 0; u < kLanes; ++u) acc[u] += a[j + u] * a[j + u];
  float s = 0.f;
  for (; j < n; ++j) s += a[j] * a[j];
  for (int u = 0; u < kLanes; ++u) s += acc[u];
  return s;
}

}  // namespace

static RmsnormOut rmsnorm_forward(const Tensor& x_in, const Tensor& w_in, const Tensor* residual, double eps) {
  const Tensor x = as_f32(x_in), w = as_f32(w_in);
  const Tensor r = residual ? as_f32(*residual) : Tensor{};
  const int64_t T = x.dim(0), D = x.dim(1);
  RmsnormOut out;
  Tensor y = empty_f32({T, D});
  Tensor s = residual ? empty_f32({T, D}) : Tensor{};
  out.rstd = empty_f32({T});
  const float* xp = x.ptr<float>();
  const float* rp = residual ? r.ptr<float>() : nullptr;
  const float* wp = w.ptr<float>();
  float* yp = y.ptr<float>();
  float* sp = residual ? s.ptr<float>() : nullptr;
  float* rs = out.rstd.ptr<float>();
  const float feps = static_cast<float>(eps);
  parallel_blocks(T, kRows, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* row = xp + t * D;
      if (sp) {
        float* srow = sp + t * D;
        const float* rrow = rp + t * D;
        for (int64_t j = 0; j < D; ++j) srow[j] = row[j] + rrow[j];
        row = srow;
      }
      const float rstd = 1.f / std::sqrt(sum_squares(row, D) / static_cast<float>(D) + feps);
      rs[t] = rstd;
      float* yrow = yp + t * D;
      for (int64_t j = 0; j < D; ++j) yrow[j] = row[j] * rstd * wp[j];
    }
  });
  out.y = cast_to(std::move(y), x_in.dtype);
  if (residual) out.s = cast_to(std::move(s), x_in.dtype);
  return out;
}

static RmsnormGrads rmsnorm_backward(const Tensor& dy_in, const Tensor& s_in, const Tensor& w_in,
                                     const Tensor& rstd, const Tensor* dresidual) {
  const Tensor dy = as_f32(dy_in), s = as_f32(s_in), w = as_f32(w_in);
  const Tensor dr = dresidual ? as_f32(*dresidual) : Tensor{};
  const int64_t T = s.dim(0), D = s.dim(1);
  const int64_t blocks = (T + kRows - 1) / kRows;
  Tensor dx = empty_f32({T, D});
  std::vector<float> partial(static_cast<size_t>(blocks * D));
  const float* g = dy.ptr<float>();
  const float* sp = s.ptr<float>();
  const float* wp = w.ptr<float>();
  const float* rs = rstd.ptr<float>();
  const float* drp = dresidual ? dr.ptr<float>() : nullptr;
  float* dxp = dx.ptr<float>();
  const float invD = 1.f / static_cast<float>(D);
  parallel_for(blocks, [&](int64_t b, int) {
    float* pw = partial.data() + b * D;
    for (int64_t j = 0; j < D; ++j) pw[j] = 0.f;
    const int64_t t1 = std::min(T, (b + 1) * kRows);
    for (int64_t t = b * kRows; t < t1; ++t) {
      const float* grow = g + t * D;
      const float* srow = sp + t * D;
      const float r = rs[t];
      // c = Σ_j dy·w·s (lane-split so it vectorises) while dw's partial takes dy·s·rstd
      float acc[kLanes] = {};
      int64_t j = 0;
      for (; j + kLanes <= D; j += kLanes)
        for (int u = 0; u < kLanes; ++u) {
          const float gs = grow[j + u] * srow[j + u];
          acc[u] += gs * wp[j + u];
          pw[j + u] += gs * r;
        }
      float c = 0.f;
      for (; j < D; ++j) {
        const float gs = grow[j] * srow[j];
        c += gs * wp[j];
        pw[j] += gs * r;
      }
      for (int u = 0; u < kLanes; ++u) c += acc[u];
      c *= invD * r * r;
      float* drow = dxp + t * D;
      for (j = 0; j < D; ++j) drow[j] = r * (grow[j] * wp[j] - srow[j] * c);
      if (drp)
        for (j = 0; j < D; ++j) drow[j] += drp[t * D + j];
    }
  });
  RmsnormGrads out;
  out.dw = empty_f32({D});
  float* dw = out.dw.ptr<float>();
  parallel_blocks(D, 256, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) dw[j] = 0.f;
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t j = j0; j < j1; ++j) dw[j] += partial[b * D + j];
  });
  out.dx = cast_to(std::move(dx), s_in.dtype);
  return out;
}

TORL_REGISTER_KERNEL(rmsnorm_forward, CPU, rmsnorm_forward);
TORL_REGISTER_KERNEL(rmsnorm_backward, CPU, rmsnorm_backward);

}  // namespace torl::cpu
