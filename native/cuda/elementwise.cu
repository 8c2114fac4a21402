// The f32 ↔ bf16 cast the CUDA ops use to bring mixed-dtype operands of a GEMM
// to one dtype (elementwise.cuh); 8 elements per thread, 16-byte accesses.
#include "elementwise.cuh"

namespace torl::cuda {

namespace {

// y[n] = x[n] in y's dtype.
__global__ void cast_forward(In x, Out y, int64_t n, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * 8;
  for (int64_t j = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * 8; j < n; j += stride) {
    float v[8];
    load_group(x, 0, j, n, vec, v);
    store_group(y, 0, j, n, vec, v);
  }
}

}  // namespace

void cast_into(In x, Out y, int64_t n, int device) {
  if (!n) return;
  cast_forward<<<grid_for((n + 7) / 8, 256), 256, 0, current_stream(device)>>>(x, y, n, aligned16({x.p, y.p}));
  TORL_CUDA_LAUNCHED("cast_forward");
}

Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype == dtype) return t;
  TORL_CHECK((t.dtype == DType::F32 || t.dtype == DType::BF16) && (dtype == DType::F32 || dtype == DType::BF16),
             "cast (cuda): only f32 ↔ bf16, got ", dtype_name(t.dtype), " → ", dtype_name(dtype));
  const int dev = t.device().index;
  set_device(dev);
  Tensor y = empty(t.shape, dtype, t.device());
  cast_into(in(t), out(y), t.numel(), dev);
  return y;
}

}  // namespace torl::cuda
