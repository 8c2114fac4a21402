// GRPO loss and advantages on the GPU. The loss is three small kernels over
// the T tokens: the masked token counts per aggregation segment (all tokens,
// or each packed sequence), then one pass computing every token's terms —
// clipped surrogate with dual clip, KL (k1/k2/k3), entropy — in f64 exactly as
// the CPU, writing d loss / d logp (and d entropy) and per-block partial sums
// of the loss terms and statistics, then a one-block reduction of the partials
// in block order (deterministic). The scalars come back to the host with one
// copy (the op returns them as numbers, so it synchronises there). Never
// builds veRL's padded [B, L] matrices.
// Advantages: one thread per response scans its group (consecutive runs of
// groupSize, or every response with the same group id: O(N · N) for group
// ids, meant for N up to ~10^4 responses), summing in index order as the CPU.
// Not yet run on a GPU (written without one): checked only by compilation.
#include "elementwise.cuh"
#include "torl/grpo.h"
#include "torl/grpo_terms.h"
#include "torl/registry.h"

namespace torl::cuda {

namespace {

// The loss mask, f32 or u8.
struct Mask {
  const void* p;
  bool u8;
  __device__ float operator[](int64_t t) const {
    return u8 ? static_cast<float>(static_cast<const uint8_t*>(p)[t]) : static_cast<const float*>(p)[t];
  }
};

// Accumulated per block, then over blocks.
enum Acc { PG, KL, ENT, CLIPPED, LOWER, NEG_KL, KL_SUM, ENT_SUM, RATIO_SUM, TOKENS, RATIO_MAX, NACC };

struct Params {
  double clip_low, clip_high, clip_ratio_c, kl_coef, entropy_coef;
  int kl_type, agg;  // KlType, LossAgg
  bool dual_clip;
  int64_t S;  // sequences (seq-mean aggregations)
};

// counts: [segments] f64, Σ mask over each segment: [cu[b], cu[b+1]) or [0, T) when cu is null.
__global__ void grpo_loss_counts(Mask mask, const int32_t* __restrict__ cu, int64_t T, double* __restrict__ counts) {
  __shared__ double red[32];
  const int64_t b = blockIdx.x, lo = cu ? cu[b] : 0, hi = cu ? cu[b + 1] : T;
  double c = 0;
  for (int64_t t = lo + threadIdx.x; t < hi; t += blockDim.x) c += mask[t];
  c = block_sum(c, red);
  if (threadIdx.x == 0) counts[b] = c;
}

// The sequence of token t: the last s with cu[s] ≤ t (cu: [S + 1], non-decreasing, cu[S] = T).
__device__ int64_t sequence_of(const int32_t* cu, int64_t S, int64_t t) {
  int64_t lo = 0, hi = S;  // cu[lo] ≤ t < cu[hi]
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (cu[mid] <= t) lo = mid;
    else hi = mid;
  }
  return lo;
}

// logp, old, adv, ref (optional), ent (optional), dlogp, dent (optional): [T] f32;  mask: [T];
// counts: from grpo_loss_counts;  partial: [gridDim.x, NACC] f64.
__global__ void grpo_loss_forward(const float* __restrict__ logp, const float* __restrict__ old,
                                  const float* __restrict__ adv, Mask mask, const float* __restrict__ ref,
                                  const float* __restrict__ ent, const int32_t* __restrict__ cu,
                                  const double* __restrict__ counts, float* __restrict__ dlogp,
                                  float* __restrict__ dent, double* __restrict__ partial, int64_t T, Params o) {
  __shared__ double red[32];
  double acc[NACC] = {};
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < T; t += stride) {
    const double m = mask[t];
    double w = 0;
    if (o.agg == static_cast<int>(LossAgg::TokenMean)) {
      w = counts[0] != 0 ? m / counts[0] : 0.0;
    } else if (o.agg == static_cast<int>(LossAgg::SeqMeanTokenSum)) {
      w = m / static_cast<double>(o.S);
    } else {
      const double c = counts[sequence_of(cu, o.S, t)];
      w = c != 0 ? m / (static_cast<double>(o.S) * c) : 0.0;
    }
    const double d = static_cast<double>(logp[t]) - old[t];
    const grpo::PgTerm p = grpo::pg_term(d, adv[t], o.clip_low, o.clip_high, o.dual_clip, o.clip_ratio_c);
    const double r = p.ratio;
    double g = p.dpg;
    acc[PG] += w * p.pg;
    if (ref) {
      const grpo::KlTerm k = grpo::kl_term(logp[t], ref[t], static_cast<KlType>(o.kl_type));
      acc[KL] += w * k.value;
      g += o.kl_coef * k.grad;
      acc[KL_SUM] += m * k.value;
    }
    if (ent) {
      acc[ENT] += w * ent[t];
      acc[ENT_SUM] += m * ent[t];
    }
    if (dent) dent[t] = static_cast<float>(-o.entropy_coef * w);
    dlogp[t] = static_cast<float>(w * g);
    acc[CLIPPED] += m * p.clipped;
    acc[LOWER] += m * p.lower;
    acc[NEG_KL] += m * -grpo::clamp(d, -20.0, 20.0);
    acc[RATIO_SUM] += m * r;
    if (m > 0) acc[RATIO_MAX] = fmax(acc[RATIO_MAX], r);
    acc[TOKENS] += m;
  }
  for (int i = 0; i < NACC; ++i) {
    const double v = i == RATIO_MAX ? block_max(acc[i], red) : block_sum(acc[i], red);
    if (threadIdx.x == 0) partial[static_cast<int64_t>(blockIdx.x) * NACC + i] = v;
  }
}

// total[i] = Σ_b partial[b, i] (max for RATIO_MAX), b ascending.  One block of ≥ NACC threads.
__global__ void grpo_loss_reduce(const double* __restrict__ partial, int64_t blocks, double* __restrict__ total) {
  const int i = threadIdx.x;
  if (i >= NACC) return;
  double v = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    const double x = partial[b * NACC + i];
    v = i == RATIO_MAX ? fmax(v, x) : v + x;
  }
  total[i] = v;
}

// r, a: [N] f32;  gid: [N] i32 or null (then groups are runs of group_size).
__global__ void grpo_advantages_forward(const float* __restrict__ r, const int32_t* __restrict__ gid, int64_t N,
                                        int64_t group_size, double eps, bool norm_std, float* __restrict__ a) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= N) return;
  const int64_t lo = gid ? 0 : i / group_size * group_size, hi = gid ? N : lo + group_size;
  const auto member = [&](int64_t j) { return !gid || gid[j] == gid[i]; };
  double n = 0, sum = 0;
  float first = 0.f;
  bool all_equal = true;
  for (int64_t j = lo; j < hi; ++j) {
    if (!member(j)) continue;
    if (n == 0) first = r[j];
    all_equal = all_equal && r[j] == first;
    n += 1;
    sum += r[j];
  }
  if (n == 1 || all_equal) {
    a[i] = 0.f;
    return;
  }
  const double mean = sum / n;
  double var = 0;
  for (int64_t j = lo; j < hi; ++j)
    if (member(j)) var += (r[j] - mean) * (r[j] - mean);
  const double std_dev = sqrt(var / (n - 1));
  a[i] = static_cast<float>(norm_std ? (r[i] - mean) / (std_dev + eps) : r[i] - mean);
}

const float* opt_f32(const Tensor* t) { return t ? t->ptr<float>() : nullptr; }

GrpoLossOut loss(const Tensor& logp, const Tensor& old_logp, const Tensor& advantages, const Tensor& mask,
                 const Tensor* ref_logp, const Tensor* entropy, const Tensor* cu_seqlens, const GrpoLossOptions& o) {
  const int dev = logp.device().index;
  set_device(dev);
  const cudaStream_t s = current_stream(dev);
  const int64_t T = logp.dim(0);
  const bool token_mean = o.agg == LossAgg::TokenMean;
  const int64_t S = cu_seqlens ? cu_seqlens->dim(0) - 1 : 0;
  const int32_t* cu = cu_seqlens ? cu_seqlens->ptr<int32_t>() : nullptr;
  const Mask m{mask.data(), mask.dtype == DType::U8};
  GrpoLossOut out;
  out.dlogp = empty({T}, DType::F32, logp.device());
  if (o.entropy_coef != 0) out.dentropy = empty({T}, DType::F32, logp.device());
  if (T == 0) return out;
  // Counts: one segment for token-mean; per sequence for seq-mean-token-mean (unused for token-sum).
  const int64_t segments = token_mean ? 1 : S;
  // f64 scratch lives in i64 tensors (8-byte elements; zero bits are 0.0).
  Tensor counts = zeros({std::max<int64_t>(segments, 1)}, DType::I64, logp.device());
  if (token_mean || o.agg == LossAgg::SeqMeanTokenMean) {
    grpo_loss_counts<<<static_cast<unsigned>(segments), 256, 0, s>>>(m, token_mean ? nullptr : cu, T,
                                                                     static_cast<double*>(counts.data()));
    TORL_CUDA_LAUNCHED("grpo_loss_counts");
  }
  const Params p{o.clip_low, o.clip_high, o.clip_ratio_c, o.kl_coef, o.entropy_coef, static_cast<int>(o.kl_type),
                 static_cast<int>(o.agg), o.dual_clip, S};
  constexpr int THREADS = 256;
  const int64_t blocks = std::min<int64_t>((T + THREADS - 1) / THREADS, 1024);
  Tensor partial = empty({blocks * NACC}, DType::I64, logp.device());
  Tensor total = empty({NACC}, DType::I64, logp.device());
  grpo_loss_forward<<<static_cast<unsigned>(blocks), THREADS, 0, s>>>(
      logp.ptr<float>(), old_logp.ptr<float>(), advantages.ptr<float>(), m, opt_f32(ref_logp), opt_f32(entropy), cu,
      static_cast<const double*>(counts.data()), out.dlogp.ptr<float>(),
      o.entropy_coef != 0 ? out.dentropy.ptr<float>() : nullptr, static_cast<double*>(partial.data()), T, p);
  TORL_CUDA_LAUNCHED("grpo_loss_forward");
  grpo_loss_reduce<<<1, 32, 0, s>>>(static_cast<const double*>(partial.data()), blocks,
                                    static_cast<double*>(total.data()));
  TORL_CUDA_LAUNCHED("grpo_loss_reduce");
  double v[NACC];
  memcpy_d2h(v, total.data(), sizeof v, dev);  // synchronises: the op returns host numbers
  out.pg_loss = v[PG];
  out.kl_loss = v[KL];
  out.entropy_loss = v[ENT];
  out.tokens = v[TOKENS];
  out.ratio_max = v[RATIO_MAX];
  out.loss = out.pg_loss + o.kl_coef * out.kl_loss - o.entropy_coef * out.entropy_loss;
  const double inv = out.tokens != 0 ? 1.0 / out.tokens : 0.0;
  out.clip_fraction = v[CLIPPED] * inv;
  out.clip_fraction_lower = v[LOWER] * inv;
  out.approx_kl = v[NEG_KL] * inv;
  out.kl_mean = v[KL_SUM] * inv;
  out.entropy_mean = v[ENT_SUM] * inv;
  out.ratio_mean = v[RATIO_SUM] * inv;
  return out;
}

Tensor advantages(const Tensor& rewards, const Tensor* group_ids, const GrpoAdvantagesOptions& o) {
  const int dev = rewards.device().index;
  set_device(dev);
  const int64_t N = rewards.dim(0);
  Tensor a = empty({N}, DType::F32, rewards.device());
  if (N == 0) return a;
  grpo_advantages_forward<<<static_cast<unsigned>((N + 255) / 256), 256, 0, current_stream(dev)>>>(
      rewards.ptr<float>(), group_ids ? group_ids->ptr<int32_t>() : nullptr, N, group_ids ? 0 : o.group_size, o.eps,
      o.norm_std, a.ptr<float>());
  TORL_CUDA_LAUNCHED("grpo_advantages_forward");
  return a;
}

}  // namespace

TORL_REGISTER_KERNEL(grpo_loss, CUDA, loss);
TORL_REGISTER_KERNEL(grpo_advantages, CUDA, advantages);

}  // namespace torl::cuda
