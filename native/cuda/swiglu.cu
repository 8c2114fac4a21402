// swiglu on the GPU: y = silu(g)·u forward, (dg, du) backward, each one
// elementwise pass: every element read once and written once, 8 per thread
// with 16-byte accesses, σ computed once per element (expf, as the CPU's
// cancellation-free 1 − σ). Nothing else is materialised.
// Not yet run on a GPU (written without one): checked only by compilation.
#include "elementwise.cuh"
#include "torl/registry.h"
#include "torl/swiglu.h"

namespace torl::cuda {

namespace {

// σ(g) and 1 − σ(g) as the CPU computes them.
struct Sigmoid {
  float s, one_minus_s;
  __device__ explicit Sigmoid(float g) {
    const float e = expf(-g);
    s = 1.f / (1.f + e);
    one_minus_s = g >= 0.f ? e * s : 1.f - s;
  }
};

// gate, up, y: [n] (any shape, flat).
__global__ void swiglu_forward(In gate, In up, Out y, int64_t n, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * 8;
  for (int64_t j = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * 8; j < n; j += stride) {
    float g[8], u[8], o[8];
    load_group(gate, 0, j, n, vec, g);
    load_group(up, 0, j, n, vec, u);
#pragma unroll
    for (int k = 0; k < 8; ++k) o[k] = g[k] * Sigmoid(g[k]).s * u[k];
    store_group(y, 0, j, n, vec, o);
  }
}

// dy, gate, up, dgate, dup: [n].
__global__ void swiglu_backward(In dy, In gate, In up, Out dgate, Out dup, int64_t n, bool vec) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x * 8;
  for (int64_t j = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) * 8; j < n; j += stride) {
    float d[8], g[8], u[8], dg[8], du[8];
    load_group(dy, 0, j, n, vec, d);
    load_group(gate, 0, j, n, vec, g);
    load_group(up, 0, j, n, vec, u);
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const Sigmoid sg(g[k]);
      du[k] = d[k] * g[k] * sg.s;
      dg[k] = d[k] * u[k] * sg.s * (1.f + g[k] * sg.one_minus_s);
    }
    store_group(dgate, 0, j, n, vec, dg);
    store_group(dup, 0, j, n, vec, du);
  }
}

constexpr int THREADS = 256;

Tensor forward(const Tensor& gate, const Tensor& up) {
  const int dev = gate.device().index;
  set_device(dev);
  Tensor y = empty(gate.shape, gate.dtype, gate.device());
  const int64_t n = gate.numel();
  if (n) {
    swiglu_forward<<<grid_for((n + 7) / 8, THREADS), THREADS, 0, current_stream(dev)>>>(
        in(gate), in(up), out(y), n, aligned16({gate.data(), up.data(), y.data()}));
    TORL_CUDA_LAUNCHED("swiglu_forward");
  }
  return y;
}

SwigluGrads backward(const Tensor& dy, const Tensor& gate, const Tensor& up) {
  const int dev = gate.device().index;
  set_device(dev);
  SwigluGrads g{empty(gate.shape, gate.dtype, gate.device()), empty(gate.shape, gate.dtype, gate.device())};
  const int64_t n = gate.numel();
  if (n) {
    swiglu_backward<<<grid_for((n + 7) / 8, THREADS), THREADS, 0, current_stream(dev)>>>(
        in(dy), in(gate), in(up), out(g.dgate), out(g.dup), n,
        aligned16({dy.data(), gate.data(), up.data(), g.dgate.data(), g.dup.data()}));
    TORL_CUDA_LAUNCHED("swiglu_backward");
  }
  return g;
}

}  // namespace

TORL_REGISTER_KERNEL(swiglu_forward, CUDA, forward);
TORL_REGISTER_KERNEL(swiglu_backward, CUDA, backward);

}  // namespace torl::cuda
