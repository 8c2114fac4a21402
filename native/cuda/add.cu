// add on the GPU: out = a + α·b and dst += α·src, each one elementwise pass:
// every element read once and written once, 8 per thread with 16-byte
// accesses where every operand is aligned (elementwise.cuh), a scalar tail.
// α·b is never materialised. The in-place form reads and writes dst through
// the same pointer (each element by the one thread that owns it), so src may
// be dst itself.
// Not yet run on a GPU (written without one): checked only by compilation.
#include "elementwise.cuh"
#include "torl/add.h"
#include "torl/registry.h"

namespace torl::cuda {

namespace {

// a, b, out: [n] (any shape, flat); out may be a.
__global__ void add_forward(In a, In b, Out out, float alpha, int64_t n, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * 8;
  for (int64_t j = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * 8; j < n; j += stride) {
    float x[8], y[8];
    load_group(a, 0, j, n, vec, x);
    load_group(b, 0, j, n, vec, y);
#pragma unroll
    for (int k = 0; k < 8; ++k) x[k] += alpha * y[k];
    store_group(out, 0, j, n, vec, x);
  }
}

constexpr int THREADS = 256;

// y (a's dtype) = a + alpha·b, on a's device; y may be a.
void launch(const Tensor& a, const Tensor& b, const Tensor& y, double alpha) {
  const int dev = a.device().index;
  const int64_t n = a.numel();
  if (!n) return;
  add_forward<<<grid_for((n + 7) / 8, THREADS), THREADS, 0, current_stream(dev)>>>(
      in(a), in(b), out(y), static_cast<float>(alpha), n, aligned16({a.data(), b.data(), y.data()}));
  TORL_CUDA_LAUNCHED("add_forward");
}

Tensor forward(const Tensor& a, const Tensor& b, double alpha) {
  set_device(a.device().index);
  Tensor y = empty(a.shape, a.dtype, a.device());
  launch(a, b, y, alpha);
  return y;
}

void inplace(const Tensor& dst, const Tensor& src, double alpha) {
  set_device(dst.device().index);
  launch(dst, src, dst, alpha);
}

}  // namespace

TORL_REGISTER_KERNEL(add_forward, CUDA, forward);
TORL_REGISTER_KERNEL(add_inplace, CUDA, inplace);

}  // namespace torl::cuda
