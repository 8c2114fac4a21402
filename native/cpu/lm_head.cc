// The fused LM-head log-prob on the CPU. For each chunk of CHUNK vocabulary
// rows and each tile of T_TILE tokens, one GEMM writes the tile's logits
// (already divided by the temperature: GEMM alpha) into a [T_TILE, CHUNK]
// scratch; the row kernels then fold them into per-token running statistics
// (forward) or turn them into d z in place and feed the two gradient GEMMs
// (backward). Chunks are the outer loop so each weight row is streamed once.
#include "torl/lm_head.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "softmax_kernels.h"
#include "torl/gemm.h"
#include "torl/registry.h"
#include "torl/threadpool.h"

namespace torl::cpu {

namespace {

constexpr int64_t CHUNK = 4096, T_TILE = 512;

// A row-major matrix's row `r` (any element type).
const void* row_ptr(const Tensor& t, int64_t r) {
  return static_cast<const char*>(t.data()) + r * t.dim(1) * static_cast<int64_t>(dtype_size(t.dtype));
}

// z[rows, cols] = alpha · hidden[t0 : t0 + rows] · weight[j0 : j0 + cols]ᵀ
void logits_tile(const Tensor& hidden, const Tensor& weight, int64_t t0, int64_t rows, int64_t j0, int64_t cols,
                 float alpha, float* z) {
  const int64_t D = hidden.dim(1);
  GemmArgs g;
  g.trans_b = true;
  g.m = rows; g.n = cols; g.k = D;
  g.alpha = alpha;
  g.a = row_ptr(hidden, t0); g.a_dtype = hidden.dtype; g.lda = D;
  g.b = row_ptr(weight, j0); g.b_dtype = weight.dtype; g.ldb = D;
  g.c = z; g.ldc = cols;
  gemm(g);
}

// For each chunk of the vocabulary (outer) and each tile of tokens (inner):
// writes the tile's logits / temperature into z [rows, cols] and calls
// fn(j0, cols, t0, rows). z is the caller's [min(T, T_TILE), min(V, CHUNK)] scratch.
template <typename Fn>
void for_each_logits_tile(const Tensor& hidden, const Tensor& weight, float alpha, float* z, Fn&& fn) {
  const int64_t T = hidden.dim(0), V = weight.dim(0);
  const int64_t Tt = std::min(T, T_TILE), C = std::min(V, CHUNK);
  for (int64_t j0 = 0; j0 < V; j0 += C) {
    const int64_t cols = std::min(C, V - j0);
    for (int64_t t0 = 0; t0 < T; t0 += Tt) {
      const int64_t rows = std::min(Tt, T - t0);
      logits_tile(hidden, weight, t0, rows, j0, cols, alpha, z);
      fn(j0, cols, t0, rows);
    }
  }
}

Tensor tile_scratch(const Tensor& hidden, const Tensor& weight) {
  return empty({std::min(hidden.dim(0), T_TILE), std::min(weight.dim(0), CHUNK)}, DType::F32, Device{});
}

// Running softmax statistics of one row: max m, s = Σ e^{z−m}, a = Σ e^{z−m}(z − m).
struct RowStats {
  double m = -INFINITY, s = 0, a = 0;
  // Folds in a chunk's (max mc, Σ e^{z−mc}, Σ e^{z−mc}(z − mc)).
  void merge(double mc, double sc, double ac) {
    if (m == -INFINITY) {
      m = mc, s = sc, a = ac;
      return;
    }
    const double mn = std::max(m, mc), f = std::exp(m - mn), fc = std::exp(mc - mn);
    a = f * (a + s * (m - mn)) + fc * (ac + sc * (mc - mn));
    s = f * s + fc * sc;
    m = mn;
  }
  double lse() const { return m + std::log(s); }
  double entropy() const { return std::log(s) - a / s; }
};

LmHeadOut lm_head_logprob_forward(const Tensor& hidden, const Tensor& weight, const Tensor& targets,
                                  double temperature) {
  const int64_t T = hidden.dim(0);
  const SoftmaxKernels& K = softmax_kernels();
  const int32_t* ids = targets.ptr<int32_t>();
  Tensor scratch = tile_scratch(hidden, weight);
  float* z = scratch.ptr<float>();
  std::vector<RowStats> st(T);
  std::vector<float> zt(T);
  for_each_logits_tile(hidden, weight, static_cast<float>(1.0 / temperature), z,
                       [&](int64_t j0, int64_t cols, int64_t t0, int64_t rows) {
    parallel_for(rows, [&](int64_t r, int) {
      const float* zr = z + r * cols;
      const int64_t t = t0 + r;
      const float mc = K.row_max(zr, cols);
      float sc, ac;
      K.exp_stats(zr, cols, mc, &sc, &ac);
      st[t].merge(mc, sc, ac);
      if (ids[t] >= j0 && ids[t] < j0 + cols) zt[t] = zr[ids[t] - j0];
    });
  });
  LmHeadOut out;
  out.logprob = empty({T}, DType::F32, Device{});
  out.entropy = empty({T}, DType::F32, Device{});
  out.lse = empty({T}, DType::F32, Device{});
  float *lp = out.logprob.ptr<float>(), *ent = out.entropy.ptr<float>(), *lse = out.lse.ptr<float>();
  for (int64_t t = 0; t < T; ++t) {
    const double l = st[t].lse();
    lse[t] = static_cast<float>(l);
    lp[t] = static_cast<float>(zt[t] - l);
    ent[t] = static_cast<float>(st[t].entropy());
  }
  out.scratch_bytes = static_cast<int64_t>(scratch.nbytes() + T * (sizeof(RowStats) + sizeof(float)));
  return out;
}

LmHeadGrads lm_head_logprob_backward(const Tensor* dlogprob, const Tensor* dentropy, const Tensor& hidden,
                                     const Tensor& weight, const Tensor& targets, const Tensor& lse,
                                     const Tensor& entropy, double temperature) {
  const int64_t T = hidden.dim(0), D = hidden.dim(1), V = weight.dim(0);
  const SoftmaxKernels& K = softmax_kernels();
  const float scale = static_cast<float>(1.0 / temperature);
  const int32_t* ids = targets.ptr<int32_t>();
  const float* gl = dlogprob ? dlogprob->ptr<float>() : nullptr;
  const float* gh = dentropy ? dentropy->ptr<float>() : nullptr;
  const float *L = lse.ptr<float>(), *H = entropy.ptr<float>();
  LmHeadGrads out;
  out.dhidden = zeros({T, D}, DType::F32, Device{});
  out.dweight = empty({V, D}, DType::F32, Device{});  // the first token tile writes it (beta 0)
  Tensor scratch = tile_scratch(hidden, weight);
  float* z = scratch.ptr<float>();
  for_each_logits_tile(hidden, weight, scale, z, [&](int64_t j0, int64_t cols, int64_t t0, int64_t rows) {
    // d logits = scale · d z, with d z = gl (δ − p) − gh p (log p + H), log p = z − lse.
    parallel_for(rows, [&](int64_t r, int) {
      const int64_t t = t0 + r;
      const float g = gl ? gl[t] : 0.f, e = gh ? gh[t] : 0.f;
      float* zr = z + r * cols;
      K.softmax_grad(zr, cols, L[t], -scale * (g + e * H[t]), -scale * e);
      if (ids[t] >= j0 && ids[t] < j0 + cols) zr[ids[t] - j0] += scale * g;
    });
    GemmArgs dh;  // dhidden[t0 : t0 + rows] += dlogits · weight[j0 : j0 + cols]
    dh.m = rows; dh.n = D; dh.k = cols;
    dh.beta = 1.f;
    dh.a = z; dh.lda = cols;
    dh.b = row_ptr(weight, j0); dh.b_dtype = weight.dtype; dh.ldb = D;
    dh.c = out.dhidden.ptr<float>() + t0 * D; dh.ldc = D;
    gemm(dh);
    GemmArgs dw;  // dweight[j0 : j0 + cols] (+)= dlogitsᵀ · hidden[t0 : t0 + rows]
    dw.trans_a = true;
    dw.m = cols; dw.n = D; dw.k = rows;
    dw.beta = t0 == 0 ? 0.f : 1.f;
    dw.a = z; dw.lda = cols;
    dw.b = row_ptr(hidden, t0); dw.b_dtype = hidden.dtype; dw.ldb = D;
    dw.c = out.dweight.ptr<float>() + j0 * D; dw.ldc = D;
    gemm(dw);
  });
  out.scratch_bytes = static_cast<int64_t>(scratch.nbytes());
  return out;
}

CrossEntropyOut cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& targets, const Tensor* mask,
                              double temperature, bool grad) {
  const int64_t T = hidden.dim(0);
  const LmHeadOut f = cpu::lm_head_logprob_forward(hidden, weight, targets, temperature);
  const Tensor m = !mask ? Tensor{} : mask->dtype == DType::F32 ? *mask : to_dtype(*mask, DType::F32);
  const float* mp = mask ? m.ptr<float>() : nullptr;
  const float* lp = f.logprob.ptr<float>();
  CrossEntropyOut out;
  double sum = 0;
  for (int64_t t = 0; t < T; ++t) {
    const double w = mp ? mp[t] : 1.0;
    out.count += w;
    sum -= w * lp[t];
  }
  out.loss = out.count != 0 ? sum / out.count : 0;
  out.scratch_bytes = f.scratch_bytes;
  if (!grad) return out;
  Tensor dlp = empty({T}, DType::F32, Device{});
  float* d = dlp.ptr<float>();
  for (int64_t t = 0; t < T; ++t) d[t] = out.count != 0 ? static_cast<float>(-(mp ? mp[t] : 1.0) / out.count) : 0.f;
  LmHeadGrads g = cpu::lm_head_logprob_backward(&dlp, nullptr, hidden, weight, targets, f.lse, f.entropy, temperature);
  out.dhidden = std::move(g.dhidden);
  out.dweight = std::move(g.dweight);
  out.scratch_bytes = std::max(out.scratch_bytes, g.scratch_bytes);
  return out;
}

}  // namespace

TORL_REGISTER_KERNEL(lm_head_logprob_forward, CPU, lm_head_logprob_forward);
TORL_REGISTER_KERNEL(lm_head_logprob_backward, CPU, lm_head_logprob_backward);
TORL_REGISTER_KERNEL(cross_entropy, CPU, cross_entropy);

}  // namespace torl::cpu
