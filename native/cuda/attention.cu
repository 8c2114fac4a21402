// attention on the GPU: causal grouped-query attention over packed
// variable-length sequences, forward and backward (see torl/attention.h for
// the semantics; native/cpu/attention.cc is the reference).
//
// What runs:
//   attention_prepare          one block: cuSeqlens (device, unvalidated) →
//                              sequence starts clamped to [0, T] and made
//                              non-decreasing (so no kernel can index out of
//                              bounds whatever it holds), and the prefix counts
//                              of query tiles (64) and key tiles (128) per
//                              sequence, which map each block of the flash
//                              kernels to (sequence, tile) by binary search —
//                              no host copy of cuSeqlens, no synchronisation.
//   attention_forward_flash    bf16, Dh 64 / 128: tensor cores (attention_flash.cuh)
//   attention_backward_flash   bf16, Dh 64 / 128: tensor cores, dQ by fp32 atomicAdd
//   attention_forward_generic  everything else (f32 inputs, other head sizes
//   attention_dq_generic       up to 256): one warp per (token, head), keys one
//   attention_dkdv_generic     at a time with an online softmax; dK/dV one warp
//                              per (key, KV head) over its query heads. Slow but
//                              simple; f32 inputs keep f32 precision.
//   attention_delta            D = rowsum(dO ∘ O), [Hq, T] f32
//   attention_convert          f32 accumulators → the output dtype (and out to
//                              q's dtype when they differ)
// dout keeps its own dtype (as on the CPU): an f32 dout with bf16 q/k/v is read
// in f32 by the generic kernels (the flash kernels feed dout to bf16 MMAs, which
// would round it); the model's backward passes a bf16 dout (linear backward's dx
// is in x's dtype), so it stays on the flash path.
// Never materialised: the [T, T] scores or probabilities, or anything of that
// size. The backward's scratch is fp32 dQ [T, Hq, Dh] and dK, dV [T, Hkv, Dh]
// (the outputs themselves for f32 inputs) and delta [Hq, T].
// Outputs: out, dq, dk, dv in q's dtype; lse [Hq, T] f32 (natural log).
//
// NOT YET RUN ON A GPU (written and compiled on a machine without one): every
// kernel in this file and in attention_flash.cuh. What was checked: zero
// warnings for sm_80/sm_90/compute_90; ptxas reports no spills (forward Dh 128:
// 254 registers, 2 blocks/SM; backward Dh 128: 239 registers, 1 block of 8
// warps/SM; shared memory 79 KB / 158 KB, within sm_80's 163 KB); and a numpy
// emulation of the flash kernels' tiling, masks, lazy rescaling and atomics
// (WMMA products as plain matmuls, bf16 rounding where the kernels round)
// matched the float64 reference within the table's bf16 tolerances.
// The first GPU run must check: the table cases (test/ops/cases/attention.ts;
// Dh 64/128 take the flash path, the other head sizes the generic one), then
// bench/ops attention_gpu (TFLOP/s beside torch SDPA flash).
#include <algorithm>
#include <climits>

#include "attention_flash.cuh"
#include "common.cuh"
#include "torl/attention.h"
#include "torl/registry.h"

namespace torl::cuda {

namespace {

using attn::bf16;
using attn::find_seq;
using attn::kFull;
using attn::kLn2;
using attn::kLog2e;

constexpr int kPrepThreads = 1024;
constexpr int kGenericThreads = 256;  // 8 warps
constexpr int kMaxGenericDh = 256;    // 8 values per lane

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(kFull, v, o);
  return v;
}

// Inclusive scan of part[0..kPrepThreads) with op (every thread calls it).
template <typename Op>
__device__ void block_scan(int32_t* part, Op op) {
  const int tid = threadIdx.x;
  for (int off = 1; off < kPrepThreads; off *= 2) {
    const int32_t x = tid >= off ? part[tid - off] : 0;
    __syncthreads();
    if (tid >= off) part[tid] = op(part[tid], x);
    __syncthreads();
  }
}

// cu: [n] i32 = [B+1] → seq: [n] (clamped, non-decreasing), tiles_f / tiles_b:
// [n] with tiles[b] = Σ_{b' < b} ⌈len(b') / tile⌉ for the forward's query tiles
// and the backward's key tiles. One block of kPrepThreads; each thread a chunk.
__global__ void __launch_bounds__(kPrepThreads) attention_prepare(const int32_t* __restrict__ cu, int n, int32_t T,
                                                                  int32_t* __restrict__ seq,
                                                                  int32_t* __restrict__ tiles_f,
                                                                  int32_t* __restrict__ tiles_b, int tile_f,
                                                                  int tile_b) {
  __shared__ int32_t pf[kPrepThreads], pb[kPrepThreads];
  const int tid = threadIdx.x;
  const int chunk = (n + kPrepThreads - 1) / kPrepThreads;
  const int a = min(n, tid * chunk), e = min(n, a + chunk);
  int32_t mx = 0;
  for (int i = a; i < e; ++i) mx = max(mx, cu[i]);
  pf[tid] = mx;
  __syncthreads();
  block_scan(pf, [](int32_t x, int32_t y) { return max(x, y); });
  int32_t run = tid > 0 ? pf[tid - 1] : 0;
  for (int i = a; i < e; ++i) {
    run = max(run, cu[i]);
    seq[i] = min(run, T);
  }
  __syncthreads();  // seq visible to the block
  auto count = [&](int i, int tile) { return i + 1 < n ? (seq[i + 1] - seq[i] + tile - 1) / tile : 0; };
  int32_t sf = 0, sb = 0;
  for (int i = a; i < e; ++i) sf += count(i, tile_f), sb += count(i, tile_b);
  __syncthreads();
  pf[tid] = sf;
  pb[tid] = sb;
  __syncthreads();
  const auto add = [](int32_t x, int32_t y) { return x + y; };
  block_scan(pf, add);
  block_scan(pb, add);
  sf = tid > 0 ? pf[tid - 1] : 0;
  sb = tid > 0 ? pb[tid - 1] : 0;
  for (int i = a; i < e; ++i) {
    tiles_f[i] = sf;
    tiles_b[i] = sb;
    sf += count(i, tile_f);
    sb += count(i, tile_b);
  }
}

// The (token or key, head) of this warp and the sequence [s0, s1) holding the
// token; false when out of range (the whole warp then returns).
struct WarpRow {
  int64_t t, s0, s1;
  int h;
};
__device__ __forceinline__ bool warp_row(const int32_t* seq, int B, int64_t T, int H, WarpRow& w) {
  const int64_t id = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (id >= T * H) return false;
  w.t = id / H;
  w.h = static_cast<int>(id % H);
  const int b = find_seq(seq, B, w.t);
  w.s0 = seq[b];
  w.s1 = seq[b + 1];
  return w.t >= w.s0 && w.t < w.s1;
}

// x[d] for d = lane + 32 i (0 past Dh), times mul.
template <typename T>
__device__ __forceinline__ void load_row(const T* __restrict__ x, int Dh, float mul, float (&r)[8]) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int d = lane + 32 * i;
    r[i] = d < Dh ? to_f32(x[d]) * mul : 0.f;
  }
}

// Σ_d a[d] · x[d] over the warp (every lane gets it).
template <typename T>
__device__ __forceinline__ float dot_row(const float (&a)[8], const T* __restrict__ x, int Dh) {
  const int lane = threadIdx.x % 32;
  float s = 0.f;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int d = lane + 32 * i;
    if (d < Dh) s += a[i] * to_f32(x[d]);
  }
  return warp_sum(s);
}

// acc[d] += w · x[d]
template <typename T>
__device__ __forceinline__ void axpy_row(float (&acc)[8], float w, const T* __restrict__ x, int Dh) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int d = lane + 32 * i;
    if (d < Dh) acc[i] += w * to_f32(x[d]);
  }
}

template <typename T>
__device__ __forceinline__ void store_row(T* __restrict__ y, int Dh, float mul, const float (&r)[8]) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int d = lane + 32 * i;
    if (d < Dh) y[d] = from_f32<T>(r[i] * mul);
  }
}

// q, out: [T, Hq, Dh];  k, v: [T, Hkv, Dh];  lse: [Hq, T] f32;  seq: [B+1].
// One warp per (token, query head).
template <typename T>
__global__ void __launch_bounds__(kGenericThreads) attention_forward_generic(
    const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, const int32_t* __restrict__ seq,
    int B, int64_t Tn, int Hq, int Hkv, int Dh, float scale_log2, T* __restrict__ out, float* __restrict__ lse) {
  WarpRow w;
  if (!warp_row(seq, B, Tn, Hq, w)) return;
  const int hk = w.h / (Hq / Hkv);
  const int64_t ldk = static_cast<int64_t>(Hkv) * Dh;
  const int64_t row = (w.t * Hq + w.h) * Dh;
  float qr[8], acc[8] = {};
  load_row(q + row, Dh, scale_log2, qr);
  float m = -INFINITY, l = 0.f;
  for (int64_t s = w.s0; s <= w.t; ++s) {
    const float x = dot_row(qr, k + s * ldk + hk * Dh, Dh);
    if (x > m) {
      const float alpha = exp2f(m - x);
      l *= alpha;
#pragma unroll
      for (int i = 0; i < 8; ++i) acc[i] *= alpha;
      m = x;
    }
    const float p = exp2f(x - m);
    l += p;
    axpy_row(acc, p, v + s * ldk + hk * Dh, Dh);
  }
  store_row(out + row, Dh, 1.f / l, acc);
  if (threadIdx.x % 32 == 0) lse[static_cast<int64_t>(w.h) * Tn + w.t] = (m + log2f(l)) * kLn2;
}

// dq: [T, Hq, Dh] f32 (written); the rest as the forward, plus dout [T, Hq, Dh]
// (in its own dtype TD) and delta [Hq, T]. One warp per (token, query head).
template <typename T, typename TD>
__global__ void __launch_bounds__(kGenericThreads) attention_dq_generic(
    const TD* __restrict__ dout, const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
    const float* __restrict__ lse, const float* __restrict__ delta, const int32_t* __restrict__ seq, int B,
    int64_t Tn, int Hq, int Hkv, int Dh, float scale, float scale_log2, float* __restrict__ dq) {
  WarpRow w;
  if (!warp_row(seq, B, Tn, Hq, w)) return;
  const int hk = w.h / (Hq / Hkv);
  const int64_t ldk = static_cast<int64_t>(Hkv) * Dh;
  const int64_t row = (w.t * Hq + w.h) * Dh;
  float qr[8], dor[8], acc[8] = {};
  load_row(q + row, Dh, scale_log2, qr);
  load_row(dout + row, Dh, 1.f, dor);
  const float lse2 = lse[static_cast<int64_t>(w.h) * Tn + w.t] * kLog2e;
  const float dl = delta[static_cast<int64_t>(w.h) * Tn + w.t];
  for (int64_t s = w.s0; s <= w.t; ++s) {
    const T* kr = k + s * ldk + hk * Dh;
    const float p = exp2f(dot_row(qr, kr, Dh) - lse2);
    const float dp = dot_row(dor, v + s * ldk + hk * Dh, Dh);
    axpy_row(acc, p * (dp - dl) * scale, kr, Dh);
  }
  store_row(dq + row, Dh, 1.f, acc);
}

// dk, dv: [T, Hkv, Dh] f32 (written); one warp per (key, KV head), summing
// over the query heads of its group and the queries at or after the key.
template <typename T, typename TD>
__global__ void __launch_bounds__(kGenericThreads) attention_dkdv_generic(
    const TD* __restrict__ dout, const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
    const float* __restrict__ lse, const float* __restrict__ delta, const int32_t* __restrict__ seq, int B,
    int64_t Tn, int Hq, int Hkv, int Dh, float scale, float scale_log2, float* __restrict__ dk,
    float* __restrict__ dv) {
  WarpRow w;
  if (!warp_row(seq, B, Tn, Hkv, w)) return;
  const int group = Hq / Hkv;
  const int64_t ldq = static_cast<int64_t>(Hq) * Dh;
  const int64_t krow = (w.t * Hkv + w.h) * Dh;
  float kr[8], vr[8], dka[8] = {}, dva[8] = {};
  load_row(k + krow, Dh, scale_log2, kr);
  load_row(v + krow, Dh, 1.f, vr);
  for (int h = w.h * group; h < (w.h + 1) * group; ++h)
    for (int64_t t = w.t; t < w.s1; ++t) {
      const T* qr = q + t * ldq + static_cast<int64_t>(h) * Dh;
      const TD* dor = dout + t * ldq + static_cast<int64_t>(h) * Dh;
      const float p = exp2f(dot_row(kr, qr, Dh) - lse[static_cast<int64_t>(h) * Tn + t] * kLog2e);
      const float dp = dot_row(vr, dor, Dh);
      axpy_row(dva, p, dor, Dh);
      axpy_row(dka, p * (dp - delta[static_cast<int64_t>(h) * Tn + t]) * scale, qr, Dh);
    }
  store_row(dk + krow, Dh, 1.f, dka);
  store_row(dv + krow, Dh, 1.f, dva);
}

// delta[h, t] = Σ_d dout[t, h, d] · out[t, h, d];  dout (TD), out (T): [T, H, Dh], delta: [H, T] f32.
template <typename T, typename TD>
__global__ void __launch_bounds__(kGenericThreads) attention_delta(const TD* __restrict__ dout,
                                                                   const T* __restrict__ out, int64_t Tn, int H,
                                                                   int Dh, float* __restrict__ delta) {
  const int64_t id = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (id >= Tn * H) return;
  const int lane = threadIdx.x % 32;
  const TD* a = dout + id * Dh;
  const T* o = out + id * Dh;
  float s = 0.f;
  for (int d = lane; d < Dh; d += 32) s += to_f32(a[d]) * to_f32(o[d]);
  s = warp_sum(s);
  if (lane == 0) delta[(id % H) * Tn + id / H] = s;
}

// y[i] = x[i] converted.
template <typename S, typename D>
__global__ void attention_convert(const S* __restrict__ x, D* __restrict__ y, int64_t n) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[i] = from_f32<D>(to_f32(x[i]));
}

unsigned blocks_for(int64_t threads, int per_block) {
  const int64_t b = (threads + per_block - 1) / per_block;
  TORL_CHECK(b <= INT_MAX, "attention (cuda): ", b, " blocks exceed the grid limit");
  return static_cast<unsigned>(std::max<int64_t>(b, 1));
}

// t in `dtype` (a converted copy when it is not already).
Tensor in_dtype(const Tensor& t, DType dtype) {
  if (t.dtype == dtype) return t;
  Tensor y = empty(t.shape, dtype, t.device());
  const int64_t n = t.numel();
  const unsigned g = std::min(blocks_for(n, 256), 65535u);
  const cudaStream_t st = current_stream(t.device().index);
  if (n == 0) return y;
  if (dtype == DType::BF16) attention_convert<<<g, 256, 0, st>>>(t.ptr<float>(), y.ptr<bf16>(), n);
  else attention_convert<<<g, 256, 0, st>>>(t.ptr<bf16>(), y.ptr<float>(), n);
  TORL_CUDA_LAUNCHED("attention_convert");
  return y;
}

// The problem as the kernels see it, with the device tables from attention_prepare.
struct Problem {
  int dev = 0;
  cudaStream_t stream{};
  int64_t T = 0;
  int Hq = 0, Hkv = 0, Dh = 0, B = 0;
  float scale = 1.f, scale_log2 = 1.f;
  Tensor tables;  // [3, B+1] i32: seq, forward tiles, backward tiles
  const int32_t* seq() const { return tables.ptr<int32_t>(); }
  const int32_t* tiles_f() const { return seq() + (B + 1); }
  const int32_t* tiles_b() const { return seq() + 2 * (B + 1); }
};

Problem make_problem(const Tensor& q, const Tensor& k, const Tensor& cu, double scale, const char* op) {
  Problem p;
  p.dev = q.device().index;
  set_device(p.dev);
  p.stream = current_stream(p.dev);
  p.T = q.dim(0), p.Hq = static_cast<int>(q.dim(1)), p.Dh = static_cast<int>(q.dim(2));
  p.Hkv = static_cast<int>(k.dim(1));
  p.B = static_cast<int>(cu.dim(0) - 1);
  p.scale = static_cast<float>(scale);
  p.scale_log2 = static_cast<float>(scale * 1.4426950408889634);
  TORL_CHECK(p.B > 0 || p.T == 0, op, " (cuda): cuSeqlens holds no sequence but q has ", p.T, " tokens");
  TORL_CHECK(p.Dh <= kMaxGenericDh, op,
             " (cuda): head dimension Dh = ", p.Dh, " is above ", kMaxGenericDh, ", the largest the GPU kernels take");
  if (p.T == 0) return p;
  p.tables = empty({3, p.B + 1}, DType::I32, q.device());
  attention_prepare<<<1, kPrepThreads, 0, p.stream>>>(cu.ptr<int32_t>(), p.B + 1, static_cast<int32_t>(p.T),
                                                      p.tables.ptr<int32_t>(), p.tables.ptr<int32_t>() + (p.B + 1),
                                                      p.tables.ptr<int32_t>() + 2 * (p.B + 1),
                                                      attn::FwdCfg<64>::BM, attn::BwdCfg<64>::BN);
  TORL_CUDA_LAUNCHED("attention_prepare");
  return p;
}

// Whether the tensor-core kernels take this problem: bf16, Dh 64 or 128,
// 16-byte aligned operands, and the device grants `smem` bytes per block.
bool flash_ok(const Problem& p, DType dtype, std::initializer_list<const Tensor*> ts, int smem) {
  if (dtype != DType::BF16 || (p.Dh != 64 && p.Dh != 128)) return false;
  for (const Tensor* t : ts)
    if (reinterpret_cast<uintptr_t>(t->data()) % 16 != 0) return false;
  int optin = 0;
  TORL_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, p.dev));
  return smem <= optin;
}

// Blocks of a flash grid: a bound on the tiles (⌈T / tile⌉ + B) times Hq.
unsigned flash_blocks(const Problem& p, int tile) {
  return blocks_for(((p.T + tile - 1) / tile + p.B) * p.Hq, 1);
}

template <int DH>
void forward_flash(const Problem& p, const Tensor& q, const Tensor& k, const Tensor& v, AttentionOut& r) {
  constexpr int smem = attn::FwdCfg<DH>::SMEM;
  const auto kern = attn::attention_forward_flash<DH>;
  TORL_CUDA_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  kern<<<flash_blocks(p, attn::FwdCfg<DH>::BM), attn::FwdCfg<DH>::NT, smem, p.stream>>>(
      q.ptr<bf16>(), k.ptr<bf16>(), v.ptr<bf16>(), p.seq(), p.tiles_f(), p.B, p.T, p.Hq, p.Hkv, p.scale_log2,
      r.out.ptr<bf16>(), r.lse.ptr<float>());
  TORL_CUDA_LAUNCHED("attention_forward_flash");
}

template <typename T>
void forward_generic(const Problem& p, const Tensor& q, const Tensor& k, const Tensor& v, AttentionOut& r) {
  attention_forward_generic<T><<<blocks_for(p.T * p.Hq * 32, kGenericThreads), kGenericThreads, 0, p.stream>>>(
      q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), p.seq(), p.B, p.T, p.Hq, p.Hkv, p.Dh, p.scale_log2, r.out.ptr<T>(),
      r.lse.ptr<float>());
  TORL_CUDA_LAUNCHED("attention_forward_generic");
}

AttentionOut attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens,
                               double scale) {
  const Problem p = make_problem(q, k, cu_seqlens, scale, "attention");
  AttentionOut r;
  r.out = empty(q.shape, q.dtype, q.device());
  r.lse = empty({p.Hq, p.T}, DType::F32, q.device());
  if (p.T == 0) return r;
  if (flash_ok(p, q.dtype, {&q, &k, &v, &r.out}, p.Dh == 64 ? attn::FwdCfg<64>::SMEM : attn::FwdCfg<128>::SMEM)) {
    if (p.Dh == 64) forward_flash<64>(p, q, k, v, r);
    else forward_flash<128>(p, q, k, v, r);
  } else if (q.dtype == DType::BF16) {
    forward_generic<bf16>(p, q, k, v, r);
  } else {
    forward_generic<float>(p, q, k, v, r);
  }
  return r;
}

struct Accumulators {
  Tensor dq, dk, dv, delta;  // f32
};

template <int DH>
void backward_flash(const Problem& p, const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                    const Tensor& lse, Accumulators& a) {
  constexpr int smem = attn::BwdCfg<DH>::SMEM;
  const auto kern = attn::attention_backward_flash<DH>;
  TORL_CUDA_CHECK(cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  kern<<<flash_blocks(p, attn::BwdCfg<DH>::BN), attn::BwdCfg<DH>::NT, smem, p.stream>>>(
      dout.ptr<bf16>(), q.ptr<bf16>(), k.ptr<bf16>(), v.ptr<bf16>(), lse.ptr<float>(), a.delta.ptr<float>(), p.seq(),
      p.tiles_b(), p.B, p.T, p.Hq, p.Hkv, p.scale, p.scale_log2, a.dq.ptr<float>(), a.dk.ptr<float>(),
      a.dv.ptr<float>());
  TORL_CUDA_LAUNCHED("attention_backward_flash");
}

template <typename T, typename TD>
void backward_generic(const Problem& p, const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& lse, Accumulators& a) {
  attention_dq_generic<T, TD><<<blocks_for(p.T * p.Hq * 32, kGenericThreads), kGenericThreads, 0, p.stream>>>(
      dout.ptr<TD>(), q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), lse.ptr<float>(), a.delta.ptr<float>(), p.seq(), p.B, p.T,
      p.Hq, p.Hkv, p.Dh, p.scale, p.scale_log2, a.dq.ptr<float>());
  TORL_CUDA_LAUNCHED("attention_dq_generic");
  attention_dkdv_generic<T, TD><<<blocks_for(p.T * p.Hkv * 32, kGenericThreads), kGenericThreads, 0, p.stream>>>(
      dout.ptr<TD>(), q.ptr<T>(), k.ptr<T>(), v.ptr<T>(), lse.ptr<float>(), a.delta.ptr<float>(), p.seq(), p.B, p.T,
      p.Hq, p.Hkv, p.Dh, p.scale, p.scale_log2, a.dk.ptr<float>(), a.dv.ptr<float>());
  TORL_CUDA_LAUNCHED("attention_dkdv_generic");
}

template <typename T, typename TD>
void delta_of(const Problem& p, const Tensor& dout, const Tensor& out, Accumulators& a) {
  attention_delta<T, TD><<<blocks_for(p.T * p.Hq * 32, kGenericThreads), kGenericThreads, 0, p.stream>>>(
      dout.ptr<TD>(), out.ptr<T>(), p.T, p.Hq, p.Dh, a.delta.ptr<float>());
  TORL_CUDA_LAUNCHED("attention_delta");
}

AttentionGrads attention_backward(const Tensor& dout0, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out0, const Tensor& lse, const Tensor& cu_seqlens, double scale) {
  const Problem p = make_problem(q, k, cu_seqlens, scale, "attentionBackward");
  const Device dev = q.device();
  AttentionGrads g;
  if (p.T == 0) {
    g.dq = empty(q.shape, q.dtype, dev);
    g.dk = empty(k.shape, q.dtype, dev);
    g.dv = empty(k.shape, q.dtype, dev);
    return g;
  }
  // dout in f32 when it is f32 (bf16 q with an f32 dout reads it in f32, as the CPU does), else in
  // q's dtype (a bf16 dout with f32 q widens exactly)
  const Tensor dout = dout0.dtype == DType::F32 ? dout0 : in_dtype(dout0, q.dtype);
  const Tensor out = in_dtype(out0, q.dtype);
  Accumulators a;
  a.delta = empty({p.Hq, p.T}, DType::F32, dev);
  const bool bf = q.dtype == DType::BF16, dout_f32 = dout.dtype == DType::F32;
  if (!bf) delta_of<float, float>(p, dout, out, a);
  else if (dout_f32) delta_of<bf16, float>(p, dout, out, a);
  else delta_of<bf16, bf16>(p, dout, out, a);

  const int smem = p.Dh == 64 ? attn::BwdCfg<64>::SMEM : attn::BwdCfg<128>::SMEM;
  if (dout.dtype == q.dtype && flash_ok(p, q.dtype, {&dout, &q, &k, &v}, smem)) {
    a.dq = zeros(q.shape, DType::F32, dev);
    a.dk = zeros(k.shape, DType::F32, dev);
    a.dv = zeros(k.shape, DType::F32, dev);
    if (p.Dh == 64) backward_flash<64>(p, dout, q, k, v, lse, a);
    else backward_flash<128>(p, dout, q, k, v, lse, a);
  } else {
    a.dq = empty(q.shape, DType::F32, dev);
    a.dk = empty(k.shape, DType::F32, dev);
    a.dv = empty(k.shape, DType::F32, dev);
    if (!bf) backward_generic<float, float>(p, dout, q, k, v, lse, a);
    else if (dout_f32) backward_generic<bf16, float>(p, dout, q, k, v, lse, a);
    else backward_generic<bf16, bf16>(p, dout, q, k, v, lse, a);
  }
  g.dq = in_dtype(a.dq, q.dtype);
  g.dk = in_dtype(a.dk, q.dtype);
  g.dv = in_dtype(a.dv, q.dtype);
  return g;
}

}  // namespace

TORL_REGISTER_KERNEL(attention_forward, CUDA, attention_forward);
TORL_REGISTER_KERNEL(attention_backward, CUDA, attention_backward);

}  // namespace torl::cuda
