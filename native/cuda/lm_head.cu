// The fused LM-head log-prob + entropy (and its backward, and the SFT
// cross-entropy) on the GPU. The vocabulary goes in chunks of CHUNK weight
// rows (outer loop, so each weight row streams once per token tile) and the
// tokens in tiles of T_TILE rows; for each (chunk, tile) one GEMM
// (torl::cuda::gemm: cuBLASLt, or ours) writes the logits / temperature into a
// [T_TILE, CHUNK] f32 scratch (alpha = 1 / temperature), then:
//   forward  lm_head_forward: one block per row holds the row chunk in
//            registers, finds its max, Σ e^{z−m}, Σ e^{z−m}(z − m), picks the
//            target logit, and merges them into the token's running (m, s, a)
//            in f64 (the CPU's RowStats); lm_head_forward_finish turns them
//            into lse, log-prob and entropy.
//   backward lm_head_backward turns the chunk into
//            dz = e·(c1 + c2·(z − lse)) + δ(target)·g/temperature,
//            e = exp(z − lse) (the CPU's softmax_grad), written in the weight's
//            dtype (bf16 inputs: a bf16 dz, as PyTorch and Liger feed their
//            gradient GEMMs; f32 inputs: f32, in place), then two GEMMs:
//            dhidden[tile] += dz·W[chunk] and dweight[chunk] (+)= dzᵀ·hidden[tile].
// So the [T, V] logits never exist: the scratch is T_TILE·CHUNK·4 bytes
// (+ ·2 for the bf16 dz) plus O(T) statistics, whatever V is.
// Hidden and weight of different dtypes are both computed in f32 (Operands): the
// hidden cast whole, a bf16 weight one vocabulary chunk at a time.
// Not yet run on a GPU (written without one): checked only by compilation;
// the op table's cases (T ≤ 515) use a single token tile, so the multi-tile
// accumulation is first exercised by bench/ops/train_gpu.ts (T = 16384).
#include <cmath>

#include "elementwise.cuh"
#include "gemm.cuh"
#include "torl/lm_head.h"
#include "torl/registry.h"

namespace torl::cuda {

namespace {

constexpr int64_t CHUNK = 8192;  // vocabulary rows per GEMM; a multiple of 8 (scratch rows stay 16-byte aligned)
constexpr int64_t T_TILE = 4096;  // token rows per GEMM
constexpr int STATS_THREADS = 256;
constexpr int PER_THREAD = static_cast<int>(CHUNK / (STATS_THREADS * 4));  // float4s of a row per thread

// Running softmax statistics per token: (m, s, a) as in the CPU's RowStats; s = 0 means empty.
struct Stats {
  double m, s, a;
};

// z: [rows, ldz] f32 logits of tokens t0… over vocabulary j0 … j0 + cols;  targets: [T] i32;
// st: [T] running statistics;  zt: [T] f32 target logits.  grid: rows blocks of STATS_THREADS.
__global__ void __launch_bounds__(STATS_THREADS) lm_head_forward(const float* __restrict__ z, int64_t ldz,
                                                                 int64_t cols, int64_t t0, int64_t j0,
                                                                 const int32_t* __restrict__ targets,
                                                                 Stats* __restrict__ st, float* __restrict__ zt) {
  __shared__ float redf[32];
  __shared__ double redd[32];
  const int64_t row = blockIdx.x, t = t0 + row;
  const float* zr = z + row * ldz;
  float v[PER_THREAD][4];
  float mx = -INFINITY;
#pragma unroll
  for (int q = 0; q < PER_THREAD; ++q) {
    const int64_t c = (static_cast<int64_t>(q) * STATS_THREADS + threadIdx.x) * 4;
    if (c < cols) {
      const float4 x = *reinterpret_cast<const float4*>(zr + c);  // within the row: ldz ≥ c + 4
      v[q][0] = x.x; v[q][1] = c + 1 < cols ? x.y : -INFINITY;
      v[q][2] = c + 2 < cols ? x.z : -INFINITY; v[q][3] = c + 3 < cols ? x.w : -INFINITY;
    } else {
      v[q][0] = v[q][1] = v[q][2] = v[q][3] = -INFINITY;
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) mx = fmaxf(mx, v[q][k]);
  }
  const float mc = block_max(mx, redf);
  float s = 0.f, a = 0.f;
#pragma unroll
  for (int q = 0; q < PER_THREAD; ++q)
#pragma unroll
    for (int k = 0; k < 4; ++k)
      if (v[q][k] != -INFINITY) {
        const float d = v[q][k] - mc, e = expf(d);
        s += e;
        a += e * d;
      }
  const double sc = block_sum(static_cast<double>(s), redd), ac = block_sum(static_cast<double>(a), redd);
  if (threadIdx.x != 0) return;
  const int32_t id = targets[t];
  if (id >= j0 && id < j0 + cols) zt[t] = zr[id - j0];
  Stats r = st[t];
  if (r.s == 0) {
    r = Stats{mc, sc, ac};
  } else {
    const double mn = fmax(r.m, static_cast<double>(mc)), f = exp(r.m - mn), fc = exp(mc - mn);
    r.a = f * (r.a + r.s * (r.m - mn)) + fc * (ac + sc * (mc - mn));
    r.s = f * r.s + fc * sc;
    r.m = mn;
  }
  st[t] = r;
}

// st: [T];  zt, logprob, entropy, lse: [T] f32.
__global__ void lm_head_forward_finish(const Stats* __restrict__ st, const float* __restrict__ zt,
                                       float* __restrict__ logprob, float* __restrict__ entropy,
                                       float* __restrict__ lse, int64_t T) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= T) return;
  const Stats r = st[t];
  const double l = r.m + log(r.s);
  lse[t] = static_cast<float>(l);
  logprob[t] = static_cast<float>(zt[t] - l);
  entropy[t] = static_cast<float>(log(r.s) - r.a / r.s);
}

// z: [rows, ldz] f32 logits/temperature of tokens t0…, vocabulary j0 … j0 + cols;
// dz: [rows, ldz] (may alias z when f32);  lse, H, gl, gh (either may be null): [T] f32.
__global__ void lm_head_backward(const float* z, Out dz, int64_t ldz, int64_t cols, int64_t t0, int64_t j0,
                                 const int32_t* __restrict__ targets, const float* __restrict__ lse,
                                 const float* __restrict__ H, const float* __restrict__ gl,
                                 const float* __restrict__ gh, float scale, bool vec) {
  const int64_t row = blockIdx.x, t = t0 + row, base = row * ldz;
  const float g = gl ? gl[t] : 0.f, e_ = gh ? gh[t] : 0.f, L = lse[t];
  const float c1 = -scale * (g + e_ * H[t]), c2 = -scale * e_;
  const int64_t target = targets[t] - j0;
  for (int64_t j = static_cast<int64_t>(threadIdx.x) * 8; j < cols; j += static_cast<int64_t>(blockDim.x) * 8) {
    float v[8];
    load_group(In{z, false}, base, j, cols, vec, v);
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      const float d = v[k] - L;
      v[k] = expf(d) * (c1 + c2 * d);
      if (j + k == target) v[k] += scale * g;
    }
    store_group(dz, base, j, cols, vec, v);
  }
}

// Σ_t mask[t] and Σ_t −mask[t]·logprob[t] in f64 (one block):  total: [2] f64.
__global__ void cross_entropy_forward(const float* __restrict__ logprob, const void* mask, bool mask_u8, int64_t T,
                                      double* __restrict__ total) {
  __shared__ double red[32];
  double count = 0, sum = 0;
  for (int64_t t = threadIdx.x; t < T; t += blockDim.x) {
    const double w = !mask ? 1.0 : mask_u8 ? static_cast<const uint8_t*>(mask)[t] : static_cast<const float*>(mask)[t];
    count += w;
    sum -= w * logprob[t];
  }
  count = block_sum(count, red);
  sum = block_sum(sum, red);
  if (threadIdx.x == 0) total[0] = count, total[1] = sum;
}

// dlogprob[t] = −mask[t] / count (0 when count = 0).
__global__ void cross_entropy_backward(const void* mask, bool mask_u8, double count, int64_t T,
                                       float* __restrict__ dlogprob) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= T) return;
  const double w = !mask ? 1.0 : mask_u8 ? static_cast<const uint8_t*>(mask)[t] : static_cast<const float*>(mask)[t];
  dlogprob[t] = count != 0 ? static_cast<float>(-w / count) : 0.f;
}

const void* row_ptr(const Tensor& t, int64_t r) {
  return static_cast<const char*>(t.data()) + r * t.dim(1) * static_cast<int64_t>(dtype_size(t.dtype));
}

// hidden and weight as the GEMMs take them (A and B of one dtype). One dtype: as given.
// Mixed: both in f32, as the CPU widens them: the hidden cast whole ([T, D], the size of
// the input), a bf16 weight one vocabulary chunk at a time, when the chunk loop (chunks
// outer) first reaches it, into a [min(V, CHUNK), D] f32 scratch. Casting the whole
// [V, D] weight instead would allocate and write V·D·4 bytes on every call (0.93 GB at
// V 151936, D 1536); the chunk is CHUNK·D·4 (50 MB at D 1536). The casts and the GEMMs
// run on one stream, so the next chunk's cast follows the last GEMM that reads this one.
class Operands {
 public:
  Tensor h;  // the hidden in the GEMMs' dtype

  Operands(const Tensor& hidden, const Tensor& weight) : weight_(weight) {
    const bool same = hidden.dtype == weight.dtype;
    h = same ? hidden : cast(hidden, DType::F32);
    chunked_ = !same && weight.dtype != DType::F32;
    if (chunked_) chunk_ = empty({std::min(weight.dim(0), CHUNK), weight.dim(1)}, DType::F32, weight.device());
  }
  DType w_dtype() const { return chunked_ ? DType::F32 : weight_.dtype; }
  // The weight rows j0 … j0 + cols (j0 a chunk start) in w_dtype(): cast on the first use of the chunk.
  const void* w_rows(int64_t j0, int64_t cols, int dev) {
    if (!chunked_) return row_ptr(weight_, j0);
    if (loaded_ != j0) {
      cast_into(In{row_ptr(weight_, j0), true}, out(chunk_), cols * weight_.dim(1), dev);
      loaded_ = j0;
    }
    return chunk_.data();
  }
  // The bytes of the casts (scratch of the call).
  int64_t cast_bytes(const Tensor& hidden) const {
    return static_cast<int64_t>((h.data() != hidden.data() ? h.nbytes() : 0) + (chunked_ ? chunk_.nbytes() : 0));
  }

 private:
  Tensor weight_, chunk_;
  bool chunked_ = false;
  int64_t loaded_ = -1;  // the chunk start chunk_ holds
};

// The tiling of one call.
struct Tiles {
  int64_t T, D, V, rows, ldz;  // rows: token rows per tile; ldz: scratch row stride (≥ chunk, multiple of 8)
  Tiles(const Tensor& h, const Tensor& w)
      : T(h.dim(0)), D(h.dim(1)), V(w.dim(0)), rows(std::min(T, T_TILE)),
        ldz((std::min(V, CHUNK) + 7) / 8 * 8) {}
};

// z[rows, cols] (ldz) = alpha · h[t0 : t0 + rows] · w[j0 : j0 + cols]ᵀ, f32.
void logits(Operands& x, const Tiles& tl, int64_t t0, int64_t rows, int64_t j0, int64_t cols, float alpha,
            float* z, int dev) {
  GemmArgs g;
  g.trans_b = true;
  g.m = rows; g.n = cols; g.k = tl.D;
  g.alpha = alpha;
  g.a = row_ptr(x.h, t0); g.a_dtype = x.h.dtype; g.lda = tl.D;
  g.b = x.w_rows(j0, cols, dev); g.b_dtype = x.w_dtype(); g.ldb = tl.D;
  g.c = z; g.c_dtype = DType::F32; g.ldc = tl.ldz;
  gemm(g, nullptr, dev);
}

// For each chunk of the vocabulary (outer) and each tile of tokens (inner): fn(j0, cols, t0, rows).
template <typename Fn>
void for_each_tile(const Tiles& tl, Fn&& fn) {
  for (int64_t j0 = 0; j0 < tl.V; j0 += CHUNK)
    for (int64_t t0 = 0; t0 < tl.T; t0 += tl.rows) fn(j0, std::min(CHUNK, tl.V - j0), t0, std::min(tl.rows, tl.T - t0));
}

LmHeadOut forward(const Tensor& hidden, const Tensor& weight, const Tensor& targets, double temperature) {
  const int dev = hidden.device().index;
  set_device(dev);
  const cudaStream_t s = current_stream(dev);
  Operands x(hidden, weight);
  const Tiles tl(x.h, weight);
  LmHeadOut out;
  out.logprob = empty({tl.T}, DType::F32, hidden.device());
  out.entropy = empty({tl.T}, DType::F32, hidden.device());
  out.lse = empty({tl.T}, DType::F32, hidden.device());
  if (tl.T == 0) return out;
  Tensor scratch = empty({tl.rows, tl.ldz}, DType::F32, hidden.device());
  Tensor st = zeros({tl.T, 3}, DType::I64, hidden.device());  // Stats: 3 f64 per token (zero: empty)
  Tensor zt = empty({tl.T}, DType::F32, hidden.device());
  const float alpha = static_cast<float>(1.0 / temperature);
  for_each_tile(tl, [&](int64_t j0, int64_t cols, int64_t t0, int64_t rows) {
    logits(x, tl, t0, rows, j0, cols, alpha, scratch.ptr<float>(), dev);
    lm_head_forward<<<static_cast<unsigned>(rows), STATS_THREADS, 0, s>>>(
        scratch.ptr<float>(), tl.ldz, cols, t0, j0, targets.ptr<int32_t>(), static_cast<Stats*>(st.data()),
        zt.ptr<float>());
    TORL_CUDA_LAUNCHED("lm_head_forward");
  });
  lm_head_forward_finish<<<static_cast<unsigned>((tl.T + 255) / 256), 256, 0, s>>>(
      static_cast<const Stats*>(st.data()), zt.ptr<float>(), out.logprob.ptr<float>(), out.entropy.ptr<float>(),
      out.lse.ptr<float>(), tl.T);
  TORL_CUDA_LAUNCHED("lm_head_forward_finish");
  out.scratch_bytes = static_cast<int64_t>(scratch.nbytes() + st.nbytes() + zt.nbytes());
  out.scratch_bytes += x.cast_bytes(hidden);
  return out;
}

LmHeadGrads backward(const Tensor* dlogprob, const Tensor* dentropy, const Tensor& hidden, const Tensor& weight,
                     const Tensor& targets, const Tensor& lse, const Tensor& entropy, double temperature) {
  const int dev = hidden.device().index;
  set_device(dev);
  const cudaStream_t s = current_stream(dev);
  Operands x(hidden, weight);
  const Tiles tl(x.h, weight);
  LmHeadGrads out;
  out.dhidden = zeros({tl.T, tl.D}, DType::F32, hidden.device());
  out.dweight = zeros({tl.V, tl.D}, DType::F32, hidden.device());
  if (tl.T == 0 || tl.D == 0) return out;
  const bool bf16 = x.w_dtype() == DType::BF16;
  Tensor scratch = empty({tl.rows, tl.ldz}, DType::F32, hidden.device());
  Tensor dz = bf16 ? empty({tl.rows, tl.ldz}, DType::BF16, hidden.device()) : scratch;
  const float scale = static_cast<float>(1.0 / temperature);
  const bool vec = aligned16({scratch.data(), dz.data()});
  for_each_tile(tl, [&](int64_t j0, int64_t cols, int64_t t0, int64_t rows) {
    logits(x, tl, t0, rows, j0, cols, scale, scratch.ptr<float>(), dev);
    lm_head_backward<<<static_cast<unsigned>(rows), 256, 0, s>>>(
        scratch.ptr<float>(), cuda::out(dz), tl.ldz, cols, t0, j0, targets.ptr<int32_t>(), lse.ptr<float>(),
        entropy.ptr<float>(), dlogprob ? dlogprob->ptr<float>() : nullptr,
        dentropy ? dentropy->ptr<float>() : nullptr, scale, vec);
    TORL_CUDA_LAUNCHED("lm_head_backward");
    GemmArgs dh;  // dhidden[t0 : t0 + rows] += dz · w[j0 : j0 + cols]
    dh.m = rows; dh.n = tl.D; dh.k = cols;
    dh.beta = 1.f;
    dh.a = dz.data(); dh.a_dtype = dz.dtype; dh.lda = tl.ldz;
    dh.b = x.w_rows(j0, cols, dev); dh.b_dtype = x.w_dtype(); dh.ldb = tl.D;
    dh.c = out.dhidden.ptr<float>() + t0 * tl.D; dh.c_dtype = DType::F32; dh.ldc = tl.D;
    gemm(dh, nullptr, dev);
    GemmArgs dw;  // dweight[j0 : j0 + cols] += dzᵀ · hidden[t0 : t0 + rows]
    dw.trans_a = true;
    dw.m = cols; dw.n = tl.D; dw.k = rows;
    dw.beta = 1.f;
    dw.a = dz.data(); dw.a_dtype = dz.dtype; dw.lda = tl.ldz;
    dw.b = row_ptr(x.h, t0); dw.b_dtype = x.h.dtype; dw.ldb = tl.D;
    dw.c = out.dweight.ptr<float>() + j0 * tl.D; dw.c_dtype = DType::F32; dw.ldc = tl.D;
    gemm(dw, nullptr, dev);
  });
  out.scratch_bytes = static_cast<int64_t>(scratch.nbytes() + (bf16 ? dz.nbytes() : 0));
  out.scratch_bytes += x.cast_bytes(hidden);
  return out;
}

CrossEntropyOut cross_entropy(const Tensor& hidden, const Tensor& weight, const Tensor& targets, const Tensor* mask,
                              double temperature, bool grad) {
  const int dev = hidden.device().index;
  const int64_t T = hidden.dim(0);
  const LmHeadOut f = forward(hidden, weight, targets, temperature);
  const cudaStream_t s = current_stream(dev);
  const void* mp = mask ? mask->data() : nullptr;
  const bool u8 = mask && mask->dtype == DType::U8;
  Tensor total = zeros({2}, DType::I64, hidden.device());  // f64 [count, Σ −mask·logprob]
  if (T) {
    cross_entropy_forward<<<1, 1024, 0, s>>>(f.logprob.ptr<float>(), mp, u8, T, static_cast<double*>(total.data()));
    TORL_CUDA_LAUNCHED("cross_entropy_forward");
  }
  double v[2];
  memcpy_d2h(v, total.data(), sizeof v, dev);  // synchronises: the loss is a host number
  CrossEntropyOut out;
  out.count = v[0];
  out.loss = out.count != 0 ? v[1] / out.count : 0;
  out.scratch_bytes = f.scratch_bytes;
  if (!grad) return out;
  Tensor dlp = empty({T}, DType::F32, hidden.device());
  if (T) {
    cross_entropy_backward<<<static_cast<unsigned>((T + 255) / 256), 256, 0, s>>>(mp, u8, out.count, T,
                                                                                dlp.ptr<float>());
    TORL_CUDA_LAUNCHED("cross_entropy_backward");
  }
  LmHeadGrads g = backward(&dlp, nullptr, hidden, weight, targets, f.lse, f.entropy, temperature);
  out.dhidden = std::move(g.dhidden);
  out.dweight = std::move(g.dweight);
  out.scratch_bytes = std::max(out.scratch_bytes, g.scratch_bytes);
  return out;
}

}  // namespace

TORL_REGISTER_KERNEL(lm_head_logprob_forward, CUDA, forward);
TORL_REGISTER_KERNEL(lm_head_logprob_backward, CUDA, backward);
TORL_REGISTER_KERNEL(cross_entropy, CUDA, cross_entropy);

}  // namespace torl::cuda
