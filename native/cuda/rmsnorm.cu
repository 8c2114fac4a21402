// rmsnorm on the GPU (with the fused residual add). Forward: one block per
// row; the first pass forms s = x + r (written once, in x's dtype), the sum of
// squares and rstd, the second re-reads the row (from L1/L2) and writes
// y = s·rstd·w with s recomputed in f32, as the CPU does. Backward: a block
// per 16 rows; each thread owns fixed column groups, so the per-row dot
// product is one block reduction and dw's partial for the block's rows stays
// in registers; partials [blocks, D] are then summed over blocks in block
// order (deterministic). 16-byte accesses where D % 8 == 0. Never
// materialises anything of size [T, D] beyond the outputs.
// Not yet run on a GPU (written without one): checked only by compilation.
#include "elementwise.cuh"
#include "torl/registry.h"
#include "torl/rmsnorm.h"

namespace torl::cuda {

namespace {

constexpr int MAXG = 4;       // column groups (of 8) per thread in the backward
constexpr int64_t ROWS = 16;  // rows per block in the backward

// v = x + r (or x without r) for the group at column j of the row at base.
__device__ __forceinline__ void load_sum(In x, In r, int64_t base, int64_t j, int64_t D, bool vec, float (&v)[8]) {
  load_group(x, base, j, D, vec, v);
  if (!r.p) return;
  float rv[8];
  load_group(r, base, j, D, vec, rv);
#pragma unroll
  for (int k = 0; k < 8; ++k) v[k] += rv[k];
}

// x, r (optional), y, s (optional): [T, D];  w: [D];  rstd: [T] f32.  grid: T blocks.
__global__ void rmsnorm_forward(In x, In r, In w, Out y, Out s, float* __restrict__ rstd, int64_t D, float eps,
                                bool vec) {
  __shared__ float red[32];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * D, step = static_cast<int64_t>(blockDim.x) * 8;
  float ss = 0.f;
  for (int64_t j = static_cast<int64_t>(threadIdx.x) * 8; j < D; j += step) {
    float v[8];
    load_sum(x, r, base, j, D, vec, v);
    if (r.p) store_group(s, base, j, D, vec, v);
#pragma unroll
    for (int k = 0; k < 8; ++k) ss += v[k] * v[k];
  }
  ss = block_sum(ss, red);
  const float rs = 1.f / sqrtf(ss / static_cast<float>(D) + eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = rs;
  for (int64_t j = static_cast<int64_t>(threadIdx.x) * 8; j < D; j += step) {
    float v[8], wv[8];
    load_sum(x, r, base, j, D, vec, v);
    load_group(w, 0, j, D, vec, wv);
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = v[k] * rs * wv[k];
    store_group(y, base, j, D, vec, v);
  }
}

// dy, s, dres (optional), dx: [T, D];  w: [D];  rstd: [T] f32;
// partial: [ceil(T / ROWS), D] f32, dw's sum over this block's rows.
// __launch_bounds__(1024): without it nvcc gives this kernel ~165 registers a thread, and a
// block above 384 threads (D > 12288) cannot launch; row_threads allows up to 1024.
__global__ void __launch_bounds__(1024) rmsnorm_backward(In dy, In s, In w, const float* __restrict__ rstd, In dres, Out dx,
                                 float* __restrict__ partial, int64_t T, int64_t D, bool vec) {
  __shared__ float red[32];
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * ROWS, t1 = min(T, t0 + ROWS);
  const int64_t step = static_cast<int64_t>(blockDim.x) * 8;
  const float invD = 1.f / static_cast<float>(D);
  float pw[MAXG][8] = {};
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t base = t * D;
    const float r = rstd[t];
    float c = 0.f;
#pragma unroll
    for (int q = 0; q < MAXG; ++q) {
      const int64_t j = static_cast<int64_t>(threadIdx.x) * 8 + q * step;
      if (j >= D) break;
      float g[8], sv[8], wv[8];
      load_group(dy, base, j, D, vec, g);
      load_group(s, base, j, D, vec, sv);
      load_group(w, 0, j, D, vec, wv);
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        const float gs = g[k] * sv[k];
        c += gs * wv[k];
        pw[q][k] += gs * r;
      }
    }
    c = block_sum(c, red) * invD * r * r;
#pragma unroll
    for (int q = 0; q < MAXG; ++q) {
      const int64_t j = static_cast<int64_t>(threadIdx.x) * 8 + q * step;
      if (j >= D) break;
      float g[8], sv[8], wv[8], d[8];
      load_group(dy, base, j, D, vec, g);
      load_group(s, base, j, D, vec, sv);
      load_group(w, 0, j, D, vec, wv);
#pragma unroll
      for (int k = 0; k < 8; ++k) d[k] = r * (g[k] * wv[k] - sv[k] * c);
      if (dres.p) {
        float dr[8];
        load_group(dres, base, j, D, vec, dr);
#pragma unroll
        for (int k = 0; k < 8; ++k) d[k] += dr[k];
      }
      store_group(dx, base, j, D, vec, d);
    }
  }
  const Out prow{partial + static_cast<int64_t>(blockIdx.x) * D, false};
#pragma unroll
  for (int q = 0; q < MAXG; ++q) {
    const int64_t j = static_cast<int64_t>(threadIdx.x) * 8 + q * step;
    if (j < D) store_group(prow, 0, j, D, vec, pw[q]);
  }
}

// dw[j] = Σ_b partial[b, j], b ascending.  partial: [blocks, D];  dw: [D] f32.
__global__ void rmsnorm_backward_dw(const float* __restrict__ partial, float* __restrict__ dw, int64_t blocks,
                                    int64_t D) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= D) return;
  float acc = 0.f;
  for (int64_t b = 0; b < blocks; ++b) acc += partial[b * D + j];
  dw[j] = acc;
}

// Threads per row: enough that each owns at most MAXG groups of 8 columns.
int row_threads(int64_t D) {
  const int64_t groups = (D + 7) / 8, per = (groups + MAXG - 1) / MAXG;
  TORL_CHECK(per <= 1024, "rmsnorm (cuda): D = ", D, " is above the largest supported width ", 1024 * MAXG * 8);
  return static_cast<int>(std::max<int64_t>(32, (per + 31) / 32 * 32));
}

RmsnormOut forward(const Tensor& x, const Tensor& w, const Tensor* residual, double eps) {
  const int dev = x.device().index;
  set_device(dev);
  const int64_t T = x.dim(0), D = x.dim(1);
  RmsnormOut o;
  o.y = empty({T, D}, x.dtype, x.device());
  if (residual) o.s = empty({T, D}, x.dtype, x.device());
  o.rstd = empty({T}, DType::F32, x.device());
  if (T == 0) return o;
  const bool vec = D % 8 == 0 && aligned16({x.data(), w.data(), o.y.data(), residual ? residual->data() : nullptr,
                                            residual ? o.s.data() : nullptr});
  rmsnorm_forward<<<static_cast<unsigned>(T), row_threads(D), 0, current_stream(dev)>>>(
      in(x), in(residual), in(w), out(o.y), residual ? out(o.s) : Out{}, o.rstd.ptr<float>(), D,
      static_cast<float>(eps), vec);
  TORL_CUDA_LAUNCHED("rmsnorm_forward");
  return o;
}

RmsnormGrads backward(const Tensor& dy, const Tensor& s, const Tensor& w, const Tensor& rstd,
                      const Tensor* dresidual) {
  const int dev = s.device().index;
  set_device(dev);
  const int64_t T = s.dim(0), D = s.dim(1);
  RmsnormGrads g;
  g.dx = empty({T, D}, s.dtype, s.device());
  if (T == 0 || D == 0) {
    g.dw = zeros({D}, DType::F32, s.device());
    return g;
  }
  g.dw = empty({D}, DType::F32, s.device());
  const int64_t blocks = (T + ROWS - 1) / ROWS;
  Tensor partial = empty({blocks, D}, DType::F32, s.device());
  const bool vec = D % 8 == 0 && aligned16({dy.data(), s.data(), w.data(), g.dx.data(), partial.data(),
                                            dresidual ? dresidual->data() : nullptr});
  const cudaStream_t st = current_stream(dev);
  rmsnorm_backward<<<static_cast<unsigned>(blocks), row_threads(D), 0, st>>>(
      in(dy), in(s), in(w), rstd.ptr<float>(), in(dresidual), out(g.dx), partial.ptr<float>(), T, D, vec);
  TORL_CUDA_LAUNCHED("rmsnorm_backward");
  rmsnorm_backward_dw<<<static_cast<unsigned>((D + 255) / 256), 256, 0, st>>>(partial.ptr<float>(),
                                                                               g.dw.ptr<float>(), blocks, D);
  TORL_CUDA_LAUNCHED("rmsnorm_backward_dw");
  return g;
}

}  // namespace

TORL_REGISTER_KERNEL(rmsnorm_forward, CUDA, forward);
TORL_REGISTER_KERNEL(rmsnorm_backward, CUDA, backward);

}  // namespace torl::cuda
