// linear on the CPU: three GEMMs and a column sum. Output rows start from the
// bias (beta = 1) so the bias add costs no extra pass over y.
#include "torl/linear.h"

#include <algorithm>
#include <cstring>

#include "torl/gemm.h"
#include "torl/registry.h"
#include "torl/threadpool.h"

namespace torl::cpu {

namespace {

// f32 result buffer: the output itself when it is f32, else a scratch tensor.
Tensor f32_like(const Shape& s) { return empty(s, DType::F32, Device{}); }

Tensor cast_out(Tensor&& t, DType dtype) { return dtype == DType::F32 ? std::move(t) : to_dtype(t, dtype); }

}  // namespace

Tensor linear_forward_packed(const Tensor& x, const Tensor& w, const PackedNT* packed, const Tensor* bias) {
  const int64_t N = x.dim(0), K = x.dim(1), M = w.dim(0);
  Tensor y = f32_like({N, M});
  float* yp = y.ptr<float>();
  if (bias) {
    const Tensor b = bias->dtype == DType::F32 ? *bias : to_dtype(*bias, DType::F32);
    for (int64_t n = 0; n < N; ++n) std::memcpy(yp + n * M, b.data(), M * sizeof(float));
  }
  GemmArgs g;
  g.trans_b = true;
  g.m = N; g.n = M; g.k = K;
  g.beta = bias ? 1.f : 0.f;
  g.a = x.data(); g.a_dtype = x.dtype; g.lda = K;
  g.b = w.data(); g.b_dtype = w.dtype; g.ldb = K;
  g.c = yp; g.ldc = M;
  gemm(g, packed);
  return cast_out(std::move(y), x.dtype);
}

static Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias) {
  return linear_forward_packed(x, w, nullptr, bias);
}

static LinearGrads linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool with_bias) {
  const int64_t N = x.dim(0), K = x.dim(1), M = w.dim(0);
  LinearGrads out;
  Tensor dx = f32_like({N, K});
  GemmArgs g;  // dx[N, K] = dy[N, M] · w[M, K]
  g.m = N; g.n = K; g.k = M;
  g.a = dy.data(); g.a_dtype = dy.dtype; g.lda = M;
  g.b = w.data(); g.b_dtype = w.dtype; g.ldb = K;
  g.c = dx.data(); g.ldc = K;
  gemm(g);
  out.dx = cast_out(std::move(dx), x.dtype);

  out.dw = f32_like({M, K});
  GemmArgs h;  // dw[M, K] = dy[N, M]ᵀ · x[N, K]
  h.trans_a = true;
  h.m = M; h.n = K; h.k = N;
  h.a = dy.data(); h.a_dtype = dy.dtype; h.lda = M;
  h.b = x.data(); h.b_dtype = x.dtype; h.ldb = K;
  h.c = out.dw.data(); h.ldc = K;
  gemm(h);

  if (with_bias) {
    out.db = zeros({M}, DType::F32, Device{});
    const Tensor d = dy.dtype == DType::F32 ? dy : to_dtype(dy, DType::F32);
    const float* dp = d.ptr<float>();
    float* db = out.db.ptr<float>();
    const int64_t chunk = 256;
    parallel_for((M + chunk - 1) / chunk, [&](int64_t c, int) {
      const int64_t j0 = c * chunk, j1 = std::min(M, j0 + chunk);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = j0; j < j1; ++j) db[j] += dp[n * M + j];
    });
  }
  return out;
}

TORL_REGISTER_KERNEL(linear_forward, CPU, linear_forward);
TORL_REGISTER_KERNEL(linear_backward, CPU, linear_backward);

}  // namespace torl::cpu
