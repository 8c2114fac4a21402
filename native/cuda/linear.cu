// linear on the GPU: three GEMMs (cuBLASLt or ours, see gemm.cuh), the bias
// folded into the forward GEMM's epilogue, db as a column-sum kernel. Inputs
// of mixed dtypes are brought to one (bf16 → f32) before a GEMM.
#include "common.cuh"
#include "gemm.cuh"
#include "torl/linear.h"
#include "torl/registry.h"

namespace torl::cuda {

namespace {

// db[j] = Σ_i dy[i, j] — dy: [rows, cols] of T, db: [cols] f32. One thread per column (coalesced).
template <typename T>
__global__ void bias_grad_kernel(const T* __restrict__ dy, float* __restrict__ db, int64_t rows, int64_t cols) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= cols) return;
  float s = 0.f;
  for (int64_t i = 0; i < rows; ++i) s += to_f32(dy[i * cols + j]);
  db[j] = s;
}

__global__ void bf16_to_f32_kernel(const __nv_bfloat16* __restrict__ x, float* __restrict__ y, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = __bfloat162float(x[i]);
}

__global__ void f32_to_bf16_kernel(const float* __restrict__ x, __nv_bfloat16* __restrict__ y, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = __float2bfloat16(x[i]);  // round to nearest even
}

Tensor as_f32(const Tensor& t) {
  if (t.dtype == DType::F32) return t;
  Tensor out = empty(t.shape, DType::F32, t.device());
  const int64_t n = t.numel();
  if (n) {
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 65535));
    bf16_to_f32_kernel<<<blocks, 256, 0, current_stream(t.device().index)>>>(t.ptr<__nv_bfloat16>(), out.ptr<float>(), n);
    TORL_CUDA_LAUNCHED("bf16_to_f32");
  }
  return out;
}

GemmArgs args(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const Tensor& A, int64_t lda, const Tensor& B,
              int64_t ldb, const Tensor& C, int64_t ldc) {
  GemmArgs g;
  g.trans_a = ta; g.trans_b = tb;
  g.m = m; g.n = n; g.k = k;
  g.a = A.data(); g.a_dtype = A.dtype; g.lda = lda;
  g.b = B.data(); g.b_dtype = B.dtype; g.ldb = ldb;
  g.c = C.data(); g.c_dtype = C.dtype; g.ldc = ldc;
  return g;
}

Tensor linear_forward(const Tensor& x0, const Tensor& w0, const Tensor* bias0) {
  const int dev = x0.device().index;
  set_device(dev);
  const bool same = x0.dtype == w0.dtype;
  const Tensor x = same ? x0 : as_f32(x0), w = same ? w0 : as_f32(w0);
  const int64_t N = x.dim(0), K = x.dim(1), M = w.dim(0);
  Tensor y = empty({N, M}, x0.dtype, x0.device());
  if (bias0 && y.dtype == DType::BF16 && bias0->dtype == DType::F32) {
    // bf16 x with an f32 bias (as the CPU accepts): x·wᵀ + bias in f32, rounded once to bf16.
    Tensor y32 = empty({N, M}, DType::F32, x0.device());
    gemm(args(false, true, N, M, K, x, K, w, K, y32, M), bias0->data(), dev);
    const int64_t n = y.numel();
    if (n) {
      const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 65535));
      f32_to_bf16_kernel<<<blocks, 256, 0, current_stream(dev)>>>(y32.ptr<float>(), y.ptr<__nv_bfloat16>(), n);
      TORL_CUDA_LAUNCHED("f32_to_bf16");
    }
    return y;
  }
  const Tensor bias = bias0 ? (bias0->dtype == y.dtype ? *bias0 : as_f32(*bias0)) : Tensor{};
  gemm(args(false, true, N, M, K, x, K, w, K, y, M), bias0 ? bias.data() : nullptr, dev);
  return y;
}

LinearGrads linear_backward(const Tensor& dy0, const Tensor& x0, const Tensor& w0, bool with_bias) {
  const int dev = dy0.device().index;
  set_device(dev);
  const bool same = dy0.dtype == x0.dtype && x0.dtype == w0.dtype;
  const Tensor dy = same ? dy0 : as_f32(dy0), x = same ? x0 : as_f32(x0), w = same ? w0 : as_f32(w0);
  const int64_t N = x.dim(0), K = x.dim(1), M = w.dim(0);
  LinearGrads out;
  out.dx = empty({N, K}, x0.dtype, x0.device());
  gemm(args(false, false, N, K, M, dy, M, w, K, out.dx, K), nullptr, dev);
  out.dw = empty({M, K}, DType::F32, x0.device());
  gemm(args(true, false, M, K, N, dy, M, x, K, out.dw, K), nullptr, dev);
  if (with_bias) {
    out.db = empty({M}, DType::F32, x0.device());
    const unsigned blocks = static_cast<unsigned>((M + 255) / 256);
    if (M) {
      if (dy.dtype == DType::BF16)
        bias_grad_kernel<<<blocks, 256, 0, current_stream(dev)>>>(dy.ptr<__nv_bfloat16>(), out.db.ptr<float>(), N, M);
      else
        bias_grad_kernel<<<blocks, 256, 0, current_stream(dev)>>>(dy.ptr<float>(), out.db.ptr<float>(), N, M);
      TORL_CUDA_LAUNCHED("bias_grad");
    }
  }
  return out;
}

}  // namespace

TORL_REGISTER_KERNEL(linear_forward, CUDA, linear_forward);
TORL_REGISTER_KERNEL(linear_backward, CUDA, linear_backward);

}  // namespace torl::cuda
