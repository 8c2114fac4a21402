// Element access for the memory-bound kernels (embedding, rmsnorm, rope,
// swiglu, adamw, lm_head, sample): every operand is f32 or bf16, chosen at run
// time by a flag that is the same for every thread (a uniform branch, so one
// kernel serves every dtype mix the CPU ops accept). Groups of 8 elements move
// as one 16-byte access (bf16) or two (f32) where the group is whole and
// aligned; otherwise element by element. Also: block-wide reductions and an
// f32 ↔ bf16 cast.
#pragma once
#include <cstdint>

#include "common.cuh"
#include "torl/tensor.h"

namespace torl::cuda {

// A read-only operand: f32 or bf16 elements.
struct In {
  const void* p = nullptr;
  bool bf16 = false;
};
// A written operand.
struct Out {
  void* p = nullptr;
  bool bf16 = false;
};

inline In in(const Tensor& t) { return In{t.data(), t.dtype == DType::BF16}; }
inline In in(const Tensor* t) { return t ? in(*t) : In{}; }
inline Out out(const Tensor& t) { return Out{t.data(), t.dtype == DType::BF16}; }

// Whether every pointer is 16-byte aligned (vector access is then safe at
// element offsets that are multiples of 8).
inline bool aligned16(std::initializer_list<const void*> ps) {
  for (const void* p : ps)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

__device__ __forceinline__ float load(In a, int64_t i) {
  return a.bf16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(a.p)[i]) : static_cast<const float*>(a.p)[i];
}

__device__ __forceinline__ void store(Out a, int64_t i, float v) {
  if (a.bf16) static_cast<__nv_bfloat16*>(a.p)[i] = __float2bfloat16(v);  // round to nearest even
  else static_cast<float*>(a.p)[i] = v;
}

// v[0..8) = a[i .. i + 8); i % 8 == 0 and the operand 16-byte aligned.
__device__ __forceinline__ void load8(In a, int64_t i, float (&v)[8]) {
  if (a.bf16) {
    const uint4 raw = *reinterpret_cast<const uint4*>(static_cast<const __nv_bfloat16*>(a.p) + i);
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 f = __bfloat1622float2(h[k]);
      v[2 * k] = f.x;
      v[2 * k + 1] = f.y;
    }
  } else {
    const float4* f = reinterpret_cast<const float4*>(static_cast<const float*>(a.p) + i);
    const float4 x = f[0], y = f[1];
    v[0] = x.x; v[1] = x.y; v[2] = x.z; v[3] = x.w;
    v[4] = y.x; v[5] = y.y; v[6] = y.z; v[7] = y.w;
  }
}

__device__ __forceinline__ void store8(Out a, int64_t i, const float (&v)[8]) {
  if (a.bf16) {
    uint4 raw;
    __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
    for (int k = 0; k < 4; ++k) h[k] = __floats2bfloat162_rn(v[2 * k], v[2 * k + 1]);
    *reinterpret_cast<uint4*>(static_cast<__nv_bfloat16*>(a.p) + i) = raw;
  } else {
    float4* f = reinterpret_cast<float4*>(static_cast<float*>(a.p) + i);
    f[0] = make_float4(v[0], v[1], v[2], v[3]);
    f[1] = make_float4(v[4], v[5], v[6], v[7]);
  }
}

// The group of 8 elements at a[base + j .. base + j + 8), those at or past
// `end` (relative to base) read as 0: one vector access when `vec`.
__device__ __forceinline__ void load_group(In a, int64_t base, int64_t j, int64_t end, bool vec, float (&v)[8]) {
  if (vec && j + 8 <= end) {
    load8(a, base + j, v);
    return;
  }
#pragma unroll
  for (int k = 0; k < 8; ++k) v[k] = j + k < end ? load(a, base + j + k) : 0.f;
}

__device__ __forceinline__ void store_group(Out a, int64_t base, int64_t j, int64_t end, bool vec, const float (&v)[8]) {
  if (vec && j + 8 <= end) {
    store8(a, base + j, v);
    return;
  }
#pragma unroll
  for (int k = 0; k < 8; ++k)
    if (j + k < end) store(a, base + j + k, v[k]);
}

// Sum over the block (every thread gets it). `smem` holds 32 values of T;
// blockDim.x a multiple of 32. The order is fixed, so the result is too.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* smem) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // smem may still be read by a previous call
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  v = lane < warps ? smem[lane] : T(0);
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

template <typename T>
__device__ __forceinline__ T block_max(T v, T* smem) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  v = smem[lane < warps ? lane : 0];
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Grid size for a grid-stride loop over n work items with `threads` per block.
inline unsigned grid_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > (1 << 20) ? (1 << 20) : b));
}

// t in `dtype` (f32 or bf16) on t's device: t itself when it already is, else a converted copy.
Tensor cast(const Tensor& t, DType dtype);
// y[0 : n] = x[0 : n] converted to y's dtype, on `device`'s current stream (y allocated by the caller).
void cast_into(In x, Out y, int64_t n, int device);

}  // namespace torl::cuda
