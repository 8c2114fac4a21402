// Sampling on the GPU: one block of 1024 threads per row of logits [B, V],
// each row with its own temperature / top-k / top-p / min-p / seed / offset,
// the CPU's distribution and the same Philox4x32-10 uniform (torl/philox.h, in
// device code), so a row's token equals the CPU's wherever the arithmetic
// agrees (expf here vs the CPU's polynomial exp can move a token that sits
// exactly on a cumulative-mass boundary).
// Nothing is sorted and nothing of size V is stored: e_j = exp(x_j/T − max) is
// recomputed from the logits in every pass. The CPU's order (e descending, id
// ascending) is the order of the 64-bit key (bits(e) << 32 | ~id); the top-k
// set, the top-p cut, the min-p floor and the inverse-CDF pick are each a
// prefix of that order, found by a block-wide radix select (8 passes of 8
// bits, a 256-bin shared histogram of counts or of e-mass) instead of a sort.
// Without top-k and top-p the pick walks the ids in order (a block-wide scan),
// as the CPU does. Temperature 0 is greedy (lowest id among equal maxima).
// Mass histograms use f64 shared atomics, so a boundary that the last bits of
// a sum decide may differ between runs; counts are exact.
// Not yet run on a GPU (written without one): checked only by compilation.
#include <cmath>
#include <vector>

#include "elementwise.cuh"
#include "torl/philox.h"
#include "torl/registry.h"
#include "torl/sample.h"

namespace torl::cuda {

namespace {

constexpr int THREADS = 1024;  // 32 warps: block_scan relies on it

struct RowParams {
  double temperature, top_p, min_p;
  int64_t top_k;
  uint64_t seed, offset;
};

struct Shared {
  double hist[256];
  double red[32];
  float redf[32];
  unsigned long long redu[32];
  long long redl[32];
  unsigned long long prefix;
  double above;
  bool found;
};

// One row: x[j] = logit j;  e(j) = exp(x·scale − m) exactly as the CPU forms it (no FMA contraction).
struct Row {
  In x;
  int64_t base, V;
  float scale, m;
  __device__ float logit(int64_t j) const { return load(x, base + j); }
  __device__ float e(int64_t j) const { return expf(__fmul_rn(logit(j), scale) - m); }
  __device__ unsigned long long key(int64_t j) const {
    return (static_cast<unsigned long long>(__float_as_uint(e(j))) << 32) | (0xffffffffull - static_cast<unsigned long long>(j));
  }
};

__device__ int64_t id_of(unsigned long long key) { return static_cast<int64_t>(0xffffffffull - (key & 0xffffffffull)); }

// Σ over keys ≥ lo of e (mass) or 1.
__device__ double weight_from(const Row& r, unsigned long long lo, bool mass, Shared& sh) {
  double w = 0;
  for (int64_t j = threadIdx.x; j < r.V; j += THREADS) {
    const unsigned long long k = r.key(j);
    if (k >= lo) w += mass ? static_cast<double>(__uint_as_float(static_cast<unsigned>(k >> 32))) : 1.0;
  }
  return block_sum(w, sh.red);
}

// The key κ ≥ lo with W(> κ) < target ≤ W(≥ κ) (strict: W(> κ) ≤ target < W(≥ κ)), where W sums
// e (mass) or 1 over keys ≥ lo. Returns false (κ undefined) when no key qualifies.
__device__ bool select_key(const Row& r, unsigned long long lo, bool mass, double target, bool strict, Shared& sh,
                           unsigned long long* kappa) {
  __syncthreads();  // every thread has read the previous call's result
  if (threadIdx.x == 0) {
    sh.prefix = 0;
    sh.above = 0;
    sh.found = true;
  }
  for (int shift = 56; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += THREADS) sh.hist[i] = 0;
    __syncthreads();
    const unsigned long long prefix = sh.prefix;
    for (int64_t j = threadIdx.x; j < r.V; j += THREADS) {
      const unsigned long long k = r.key(j);
      if (k < lo || (shift < 56 && (k >> (shift + 8)) != (prefix >> (shift + 8)))) continue;
      atomicAdd(&sh.hist[(k >> shift) & 255],
                mass ? static_cast<double>(__uint_as_float(static_cast<unsigned>(k >> 32))) : 1.0);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double cum = sh.above;
      int d = 255;
      for (; d >= 0; --d) {
        const double hi = cum + sh.hist[d];
        if (sh.hist[d] > 0 && (strict ? cum <= target && target < hi : cum < target && target <= hi)) break;
        cum = hi;
      }
      if (d < 0) sh.found = false;
      else sh.prefix |= static_cast<unsigned long long>(d) << shift, sh.above = cum;
    }
    __syncthreads();
    if (!sh.found) return false;
  }
  *kappa = sh.prefix;
  return true;
}

// Inclusive prefix sum over the block (thread order) and the block's total.
__device__ double block_scan(double v, double* total, Shared& sh) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
#pragma unroll
  for (int o = 1; o < 32; o *= 2) {
    const double u = __shfl_up_sync(0xffffffffu, v, o);
    if (lane >= o) v += u;
  }
  __syncthreads();
  if (lane == 31) sh.red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    double w = sh.red[lane];
#pragma unroll
    for (int o = 1; o < 32; o *= 2) {
      const double u = __shfl_up_sync(0xffffffffu, w, o);
      if (lane >= o) w += u;
    }
    sh.red[lane] = w;  // inclusive over warps
  }
  __syncthreads();
  if (warp > 0) v += sh.red[warp - 1];
  *total = sh.red[31];
  return v;
}

// logits: [B, V];  params: [B];  ids: [B] i32;  logprob, temp_logprob: [B] f32.  grid: B blocks of THREADS.
__global__ void __launch_bounds__(THREADS) sample_forward(In logits, int64_t V, const RowParams* __restrict__ params,
                                                          int32_t* __restrict__ ids, float* __restrict__ logprob,
                                                          float* __restrict__ temp_logprob) {
  __shared__ Shared sh;
  const int64_t b = blockIdx.x;
  const RowParams P = params[b];
  Row r{logits, b * V, V, 1.f, 0.f};
  float xmax = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += THREADS) xmax = fmaxf(xmax, r.logit(j));
  xmax = block_max(xmax, sh.redf);
  if (P.temperature == 0) {
    long long neg = -static_cast<long long>(V);
    double s = 0;
    for (int64_t j = threadIdx.x; j < V; j += THREADS) {
      const float x = r.logit(j);
      if (x == xmax) neg = max(neg, -static_cast<long long>(j));
      s += expf(x - xmax);
    }
    const int64_t id = -block_max(neg, sh.redl);
    s = block_sum(s, sh.red);
    if (threadIdx.x == 0) {
      ids[b] = static_cast<int32_t>(id);
      logprob[b] = 0.f;
      temp_logprob[b] = static_cast<float>(r.logit(id) - (xmax + log(s)));
    }
    return;
  }
  r.scale = static_cast<float>(1.0 / P.temperature);
  r.m = xmax * r.scale;
  const double total = weight_from(r, 0, true, sh);
  const double lse = r.m + log(total);
  const double u = philox_uniform(P.seed, P.offset);
  const int64_t k = P.top_k > 0 && P.top_k < V ? P.top_k : V;
  int64_t id = -1;
  double kept_mass = 0;
  if (k < V || P.top_p < 1) {
    unsigned long long lo = 0;
    double mass_k = total;
    if (k < V) {
      select_key(r, 0, false, static_cast<double>(k), false, sh, &lo);  // the k-th key: always exists
      mass_k = weight_from(r, lo, true, sh);
    }
    // min-p: e ≥ min_p · (the largest e, which is exp(0) = 1)
    const unsigned long long floor_key = static_cast<unsigned long long>(__float_as_uint(static_cast<float>(P.min_p)))
                                         << 32;
    if (P.top_p < 1) {
      unsigned long long kp;
      if (select_key(r, lo, true, P.top_p * mass_k, false, sh, &kp)) lo = max(lo, kp);
    }
    lo = max(lo, floor_key);
    kept_mass = weight_from(r, lo, true, sh);
    unsigned long long pick;
    if (select_key(r, lo, true, u * kept_mass, true, sh, &pick)) {
      id = id_of(pick);
    } else {  // rounding put the target past the kept mass: the last kept token
      unsigned long long inv = 0;
      for (int64_t j = threadIdx.x; j < V; j += THREADS) {
        const unsigned long long key = r.key(j);
        if (key >= lo) inv = max(inv, ~key);
      }
      id = id_of(~block_max(inv, sh.redu));
    }
  } else {
    const float floor = static_cast<float>(P.min_p);
    double mass = 0;
    for (int64_t j = threadIdx.x; j < V; j += THREADS) {
      const float e = r.e(j);
      if (e >= floor) mass += e;
    }
    kept_mass = block_sum(mass, sh.red);
    const double target = u * kept_mass;
    double carry = 0;
    long long last = 0;
    for (int64_t j0 = 0; j0 < V && id < 0; j0 += THREADS) {  // id order, a tile of THREADS ids at a time
      const int64_t j = j0 + threadIdx.x;
      const float e = j < V ? r.e(j) : 0.f;
      const bool kept = j < V && e >= floor;
      double tile;
      const double incl = carry + block_scan(kept ? e : 0.0, &tile, sh);
      const long long hit = kept && incl > target ? -static_cast<long long>(j) : -static_cast<long long>(V);
      const long long first = -block_max(hit, sh.redl);
      last = max(last, block_max(kept ? static_cast<long long>(j) : 0ll, sh.redl));
      if (first < V) id = first;
      carry += tile;
    }
    if (id < 0) id = last;
  }
  if (threadIdx.x == 0) {
    ids[b] = static_cast<int32_t>(id);
    logprob[b] = static_cast<float>(log(static_cast<double>(r.e(id))) - log(kept_mass));
    temp_logprob[b] = static_cast<float>(static_cast<double>(r.logit(id)) * r.scale - lse);
  }
}

SampleOut sample(const Tensor& logits, const SampleParams& p) {
  const int dev = logits.device().index;
  set_device(dev);
  const int64_t B = logits.dim(0), V = logits.dim(1);
  TORL_CHECK(V < (int64_t(1) << 31), "sample (cuda): V must be below 2^31, got ", V);
  SampleOut out;
  out.ids = empty({B}, DType::I32, logits.device());
  out.logprob = empty({B}, DType::F32, logits.device());
  out.temp_logprob = empty({B}, DType::F32, logits.device());
  if (B == 0) return out;
  std::vector<RowParams> rows(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b)
    rows[b] = RowParams{p.temperature[b], p.top_p[b], p.min_p[b], p.top_k[b], p.seed[b], p.offset[b]};
  Tensor dp = empty({static_cast<int64_t>(rows.size() * sizeof(RowParams))}, DType::U8, logits.device());
  memcpy_h2d(dp.data(), rows.data(), rows.size() * sizeof(RowParams), dev);
  sample_forward<<<static_cast<unsigned>(B), THREADS, 0, current_stream(dev)>>>(
      in(logits), V, static_cast<const RowParams*>(dp.data()), out.ids.ptr<int32_t>(), out.logprob.ptr<float>(),
      out.temp_logprob.ptr<float>());
  TORL_CUDA_LAUNCHED("sample_forward");
  return out;
}

}  // namespace

TORL_REGISTER_KERNEL(sample, CUDA, sample);

}  // namespace torl::cuda
