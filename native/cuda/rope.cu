// rope on the GPU: one block per token rotates every head of q and k (one
// launch for both). The block first computes its position's cos/sin table
// (Dh/2 angles, in f64 as the CPU, rounded to f32) into shared memory — never
// per element — then each thread rotates groups of 8 pairs (x[i], x[i + Dh/2])
// with 16-byte accesses when Dh % 16 == 0. In place when the outputs alias the
// inputs (each element is read and written by one thread). Backward is the
// same kernel with the angle negated.
// Not yet run on a GPU (written without one): checked only by compilation.
#include "elementwise.cuh"
#include "torl/registry.h"
#include "torl/rope.h"

namespace torl::cuda {

namespace {

// q, oq: [T, Hq, Dh];  k, ok: [T, Hkv, Dh];  pos: [T] i32.  grid: T blocks;
// dynamic shared memory: Dh floats (cos, then sin, Dh/2 each).
__global__ void rope_forward(In q, In k, Out oq, Out ok, const int32_t* __restrict__ pos, int64_t Hq, int64_t Hkv,
                             int64_t Dh, double theta, double sign, bool vec) {
  extern __shared__ float table[];
  const int64_t t = blockIdx.x, half = Dh / 2;
  float* cs = table;
  float* sn = table + half;
  const double p = static_cast<double>(pos[t]);
  for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
    const double a = p * pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(Dh));
    cs[i] = static_cast<float>(cos(a));
    sn[i] = static_cast<float>(sign * sin(a));
  }
  __syncthreads();
  const int64_t groups = (half + 7) / 8, items = (Hq + Hkv) * groups;
  for (int64_t it = threadIdx.x; it < items; it += blockDim.x) {
    const int64_t h = it / groups, i0 = (it - h * groups) * 8;
    const bool is_q = h < Hq;
    const In src = is_q ? q : k;
    const Out dst = is_q ? oq : ok;
    const int64_t base = is_q ? (t * Hq + h) * Dh : (t * Hkv + (h - Hq)) * Dh;
    float a[8], b[8], ya[8], yb[8];
    load_group(src, base, i0, half, vec, a);
    load_group(src, base + half, i0, half, vec, b);
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const int64_t i = min(i0 + e, half - 1);  // past half: computed, never stored
      ya[e] = a[e] * cs[i] - b[e] * sn[i];
      yb[e] = b[e] * cs[i] + a[e] * sn[i];
    }
    store_group(dst, base, i0, half, vec, ya);
    store_group(dst, base + half, i0, half, vec, yb);
  }
}

constexpr int64_t MAX_DH = 12288;  // the table must fit 48 KiB of shared memory

RopeOut apply(const Tensor& q, const Tensor& k, const Tensor& positions, double theta, bool in_place, double sign) {
  const int dev = q.device().index;
  set_device(dev);
  const int64_t T = q.dim(0), Hq = q.dim(1), Hkv = k.dim(1), Dh = q.dim(2);
  TORL_CHECK(Dh <= MAX_DH, "rope (cuda): the head dimension Dh = ", Dh, " is above the supported ", MAX_DH);
  RopeOut o{in_place ? q : empty(q.shape, q.dtype, q.device()), in_place ? k : empty(k.shape, k.dtype, k.device())};
  if (T == 0 || Dh == 0 || Hq + Hkv == 0) return o;
  const bool vec = (Dh / 2) % 8 == 0 && aligned16({q.data(), k.data(), o.q.data(), o.k.data()});
  rope_forward<<<static_cast<unsigned>(T), 128, static_cast<size_t>(Dh) * sizeof(float), current_stream(dev)>>>(
      in(q), in(k), out(o.q), out(o.k), positions.ptr<int32_t>(), Hq, Hkv, Dh, theta, sign, vec);
  TORL_CUDA_LAUNCHED(sign > 0 ? "rope_forward" : "rope_forward (as rope_backward)");
  return o;
}

RopeOut forward(const Tensor& q, const Tensor& k, const Tensor& positions, double theta, bool in_place) {
  return apply(q, k, positions, theta, in_place, +1.0);
}

RopeOut backward(const Tensor& dq, const Tensor& dk, const Tensor& positions, double theta, bool in_place) {
  return apply(dq, dk, positions, theta, in_place, -1.0);
}

}  // namespace

TORL_REGISTER_KERNEL(rope_forward, CUDA, forward);
TORL_REGISTER_KERNEL(rope_backward, CUDA, backward);

}  // namespace torl::cuda
