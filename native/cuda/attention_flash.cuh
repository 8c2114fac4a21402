// The tensor-core attention kernels (bf16, head size 64 or 128), included by
// attention.cu only. FlashAttention-2's schedule written with WMMA
// (16×16×16 bf16 fragments, fp32 accumulators):
//   attention_forward_flash:  one block (4 warps) per (query tile of 64 rows,
//     query head); each warp owns 16 query rows, keeps its Q fragments and its
//     O accumulator in registers and walks the key tiles (64 keys) of its
//     sequence up to the diagonal. K and V tiles arrive through cp.async (the
//     next K tile loads while P·V runs). Scores go through a per-warp shared
//     scratch (WMMA's register layout is opaque) for the masked online softmax.
//   attention_backward_flash: one block (8 warps) per (key tile of 128 keys,
//     query head); each warp owns 16 keys and accumulates their dK, dV in
//     registers over the query tiles (64 rows) from the diagonal to the end of
//     the sequence, recomputing P from lse. dQ is added with fp32 atomicAdd
//     (red.global) per (key tile, query tile); at the end dK, dV are added
//     with fp32 atomics into the [T, Hkv, Dh] accumulators, which sums the
//     query heads that share a KV head.
// Lazy rescaling (forward): a row's reference max only moves when a tile's max
// exceeds it by more than 2^8 (probabilities up to 256 are exact enough in bf16
// and fp32), so O — whose fragment layout we cannot address by row — goes
// through shared memory for rescaling only on those rare tiles.
// The backward forms dS from the bf16 P it already stored for the dV product
// (one rounding of relative size 2^-9, the same as dS's own rounding for the
// dQ and dK products).
// Every tile load is bounds-checked (zero-filled past the sequence), every
// row past the sequence is masked and never written.
#pragma once
#include <mma.h>

#include <cstdint>
#include <type_traits>

#include "common.cuh"

namespace torl::cuda::attn {

using bf16 = __nv_bfloat16;

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr float kRescaleLog2 = 8.f;  // lazy rescale threshold (log2 units)
constexpr unsigned kFull = 0xffffffffu;

// The b in [0, B) with pre[b] ≤ x < pre[b + 1] for a non-decreasing pre[0..B]
// (the last such b when sequences are empty); B ≥ 1.
__device__ __forceinline__ int find_seq(const int32_t* __restrict__ pre, int B, int64_t x) {
  int lo = 0, hi = B - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (pre[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// 16 bytes global → shared; zero-filled (nothing read) when !valid.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int n = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(n) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// Rows [r0, r0 + ROWS) of a bf16 matrix with row stride ld (elements), DH
// columns from `base`, into dst[ROWS][LD]; rows at or past `rend` zero.
template <int ROWS, int DH, int LD, int NT>
__device__ __forceinline__ void load_tile(bf16* dst, const bf16* base, int64_t ld, int64_t r0, int64_t rend) {
  constexpr int kChunks = DH / 8;  // 16-byte chunks per row
  for (int c = threadIdx.x; c < ROWS * kChunks; c += NT) {
    const int r = c / kChunks, col = (c % kChunks) * 8;
    const int64_t gr = r0 + r;
    const bool ok = gr < rend;
    cp_async16(dst + r * LD + col, ok ? base + gr * ld + col : base, ok);
  }
}

namespace wmma = nvcuda::wmma;
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBc = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// acc[n] += A · B[:, 16n .. 16n + 16) for A [16, K] at a (lda; row-major, or
// column-major: element (m, k) at a[k·lda + m]) and B [K, 16N] row-major at b
// (ldb), all in shared memory.
template <int K, int N, typename LayoutA = wmma::row_major>
__device__ __forceinline__ void mma_ab(FragC (&acc)[N], const bf16* a, int lda, const bf16* b, int ldb) {
  constexpr bool kRowA = std::is_same_v<LayoutA, wmma::row_major>;
#pragma unroll 1  // (unrolled, the backward spills registers)
  for (int kk = 0; kk < K / 16; ++kk) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, LayoutA> fa;
    wmma::load_matrix_sync(fa, a + (kRowA ? kk * 16 : kk * 16 * lda), lda);
#pragma unroll
    for (int n = 0; n < N; ++n) {
      FragB fb;
      wmma::load_matrix_sync(fb, b + kk * 16 * ldb + n * 16, ldb);
      wmma::mma_sync(acc[n], fa, fb, acc[n]);
    }
  }
}

// dst[16, 16N] (f32, row stride ldd) = A · Bᵀ for A [16, K] row-major at a
// (lda) and B [16N, K] row-major at b (ldb).
template <int K, int N>
__device__ __forceinline__ void mma_abt_store(float* dst, int ldd, const bf16* a, int lda, const bf16* b, int ldb) {
  FragC acc[N];
#pragma unroll
  for (int n = 0; n < N; ++n) wmma::fill_fragment(acc[n], 0.f);
#pragma unroll 1  // (unrolled, the backward spills registers)
  for (int kk = 0; kk < K / 16; ++kk) {
    FragA fa;
    wmma::load_matrix_sync(fa, a + kk * 16, lda);
#pragma unroll
    for (int n = 0; n < N; ++n) {
      FragBc fb;
      wmma::load_matrix_sync(fb, b + n * 16 * ldb + kk * 16, ldb);
      wmma::mma_sync(acc[n], fa, fb, acc[n]);
    }
  }
#pragma unroll
  for (int n = 0; n < N; ++n) wmma::store_matrix_sync(dst + n * 16, acc[n], ldd, wmma::mem_row_major);
}

// Shared-memory layout of the forward (bytes; every region 128-byte aligned).
template <int DH>
struct FwdCfg {
  static constexpr int BM = 64, BN = 64, WARPS = 4, NT = 32 * WARPS;
  static constexpr int LD = DH + 8;   // bf16 tile row stride (pads banks)
  static constexpr int LDS = BN + 4;  // f32 scratch row stride
  static constexpr int LDP = BN + 8;  // bf16 P row stride
  static constexpr int Q_OFF = 0;
  static constexpr int K_OFF = Q_OFF + BM * LD * 2;
  static constexpr int V_OFF = K_OFF + BN * LD * 2;
  static constexpr int S_OFF = V_OFF + BN * LD * 2;
  static constexpr int P_OFF = S_OFF + WARPS * 16 * LDS * 4;
  static constexpr int R_OFF = P_OFF + WARPS * 16 * LDP * 2;
  static constexpr int SMEM = R_OFF + WARPS * 16 * 4;
  static_assert(DH % 16 == 0 && K_OFF % 128 == 0 && S_OFF % 128 == 0 && P_OFF % 128 == 0 && R_OFF % 128 == 0);
};

// q, out: [T, Hq, DH] bf16;  k, v: [T, Hkv, DH] bf16;  lse: [Hq, T] f32;
// seq: [B+1] sequence starts;  tiles: [B+1] prefix counts of 64-row query tiles.
// Grid: (tiles bound) × Hq blocks, block g·Hq + h; blocks past tiles[B] exit.
template <int DH>
__global__ void __launch_bounds__(128) attention_forward_flash(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                                               const bf16* __restrict__ v,
                                                               const int32_t* __restrict__ seq,
                                                               const int32_t* __restrict__ tiles, int B, int64_t T,
                                                               int Hq, int Hkv, float scale_log2,
                                                               bf16* __restrict__ out, float* __restrict__ lse) {
  using C = FwdCfg<DH>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Qs = reinterpret_cast<bf16*>(smem + C::Q_OFF);
  bf16* Ks = reinterpret_cast<bf16*>(smem + C::K_OFF);
  bf16* Vs = reinterpret_cast<bf16*>(smem + C::V_OFF);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* Sw = reinterpret_cast<float*>(smem + C::S_OFF) + warp * 16 * C::LDS;
  bf16* Pw = reinterpret_cast<bf16*>(smem + C::P_OFF) + warp * 16 * C::LDP;
  float* rowv = reinterpret_cast<float*>(smem + C::R_OFF) + warp * 16;

  const int h = static_cast<int>(blockIdx.x % Hq);
  const int64_t g = blockIdx.x / Hq;
  if (g >= tiles[B]) return;
  const int b = find_seq(tiles, B, g);
  const int64_t s0 = seq[b], s1 = seq[b + 1];
  // the sequence's last tile first: later tiles have more keys
  const int64_t i0 = s0 + (tiles[b + 1] - 1 - g) * C::BM;
  const int64_t i1 = min(i0 + C::BM, s1);
  const int hk = h / (Hq / Hkv);
  const int64_t ldq = static_cast<int64_t>(Hq) * DH, ldk = static_cast<int64_t>(Hkv) * DH;
  const bf16* qh = q + static_cast<int64_t>(h) * DH;
  const bf16* kh = k + static_cast<int64_t>(hk) * DH;
  const bf16* vh = v + static_cast<int64_t>(hk) * DH;

  load_tile<C::BM, DH, C::LD, C::NT>(Qs, qh, ldq, i0, i1);
  load_tile<C::BN, DH, C::LD, C::NT>(Ks, kh, ldk, s0, min(s0 + C::BN, i1));
  cp_async_commit();

  // Row r of this warp's 16 belongs to lanes 2r and 2r + 1 (even / odd columns).
  const int r = lane / 2, half = lane % 2;
  const int64_t qi = i0 + warp * 16 + r;
  float m_ref = -INFINITY, l = 0.f;  // reference max (base 2, scaled) and sum
  FragA qf[DH / 16];
  FragC o[DH / 16];
#pragma unroll
  for (int n = 0; n < DH / 16; ++n) wmma::fill_fragment(o[n], 0.f);
  bool o_empty = true;

  const int64_t n_kv = (i1 - s0 + C::BN - 1) / C::BN;
  for (int64_t jt = 0; jt < n_kv; ++jt) {
    const int64_t j0 = s0 + jt * C::BN;
    load_tile<C::BN, DH, C::LD, C::NT>(Vs, vh, ldk, j0, min(j0 + C::BN, i1));
    cp_async_commit();
    cp_async_wait<1>();  // Q and this K tile
    __syncthreads();
    if (jt == 0) {
#pragma unroll
      for (int kk = 0; kk < DH / 16; ++kk) wmma::load_matrix_sync(qf[kk], Qs + warp * 16 * C::LD + kk * 16, C::LD);
    }
    {  // S = Q Kᵀ for this warp's 16 rows × 64 keys
      FragC acc[C::BN / 16];
#pragma unroll
      for (int n = 0; n < C::BN / 16; ++n) wmma::fill_fragment(acc[n], 0.f);
#pragma unroll
      for (int kk = 0; kk < DH / 16; ++kk)
#pragma unroll
        for (int n = 0; n < C::BN / 16; ++n) {
          FragBc kb;
          wmma::load_matrix_sync(kb, Ks + n * 16 * C::LD + kk * 16, C::LD);
          wmma::mma_sync(acc[n], qf[kk], kb, acc[n]);
        }
#pragma unroll
      for (int n = 0; n < C::BN / 16; ++n) wmma::store_matrix_sync(Sw + n * 16, acc[n], C::LDS, wmma::mem_row_major);
    }
    __syncthreads();  // every warp is done with Ks
    if (jt + 1 < n_kv) {
      load_tile<C::BN, DH, C::LD, C::NT>(Ks, kh, ldk, j0 + C::BN, min(j0 + 2 * C::BN, i1));
      cp_async_commit();
    }
    __syncwarp();

    // masked online softmax of row r (keys after the query are −inf)
    float mx = -INFINITY;
    for (int c = half; c < C::BN; c += 2) {
      const float s = j0 + c > qi ? -INFINITY : Sw[r * C::LDS + c] * scale_log2;
      mx = fmaxf(mx, s);
    }
    mx = fmaxf(mx, __shfl_xor_sync(kFull, mx, 1));
    const bool need = mx > m_ref + kRescaleLog2;
    float alpha = 1.f;
    if (need) {
      alpha = exp2f(m_ref - mx);  // 0 on the first tile (m_ref = −inf)
      l *= alpha;
      m_ref = mx;
    }
    if (half == 0) rowv[r] = alpha;
    float psum = 0.f;
    for (int c = half; c < C::BN; c += 2) {
      const float s = j0 + c > qi ? -INFINITY : Sw[r * C::LDS + c] * scale_log2;
      const float p = s == -INFINITY ? 0.f : exp2f(s - m_ref);
      Pw[r * C::LDP + c] = __float2bfloat16(p);
      psum += p;
    }
    l += psum + __shfl_xor_sync(kFull, psum, 1);
    const bool any = __any_sync(kFull, need);
    __syncwarp();
    if (any && !o_empty) {  // O rows ·= alpha, one fragment at a time through the scratch
#pragma unroll
      for (int n = 0; n < DH / 16; ++n) {
        wmma::store_matrix_sync(Sw, o[n], C::LDS, wmma::mem_row_major);
        __syncwarp();
        for (int e = lane; e < 256; e += 32) Sw[(e / 16) * C::LDS + e % 16] *= rowv[e / 16];
        __syncwarp();
        wmma::load_matrix_sync(o[n], Sw, C::LDS, wmma::mem_row_major);
        __syncwarp();
      }
    }

    if (jt + 1 < n_kv) cp_async_wait<1>();  // this V tile (the next K may still fly)
    else cp_async_wait<0>();
    __syncthreads();
    mma_ab<C::BN, DH / 16>(o, Pw, C::LDP, Vs, C::LD);  // O += P V
    o_empty = false;
    __syncthreads();  // every warp is done with Vs
  }

  // out = O / l (bf16, 8 columns per lane as one 16-byte store); lse = ln Σ exp
  if (half == 0) rowv[r] = l > 0.f ? 1.f / l : 0.f;
  __syncwarp();
#pragma unroll
  for (int n = 0; n < DH / 16; ++n) {
    wmma::store_matrix_sync(Sw, o[n], C::LDS, wmma::mem_row_major);
    __syncwarp();
    const int c0 = half * 8;
    if (qi < i1) {
      uint4 raw;
      __nv_bfloat162* h2 = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
      for (int e = 0; e < 4; ++e)
        h2[e] = __floats2bfloat162_rn(Sw[r * C::LDS + c0 + 2 * e] * rowv[r], Sw[r * C::LDS + c0 + 2 * e + 1] * rowv[r]);
      *reinterpret_cast<uint4*>(out + qi * ldq + static_cast<int64_t>(h) * DH + n * 16 + c0) = raw;
    }
    __syncwarp();
  }
  if (half == 0 && qi < i1) lse[static_cast<int64_t>(h) * T + qi] = (m_ref + log2f(l)) * kLn2;
}

// Shared-memory layout of the backward (bytes; every region 128-byte aligned).
template <int DH>
struct BwdCfg {
  static constexpr int BM = 64, BN = 128, WARPS = 8, NT = 32 * WARPS;
  static constexpr int LD = DH + 8;   // bf16 tile row stride
  static constexpr int LDQ = BM + 8;  // bf16 P / dS row stride ([key][query])
  static constexpr int LDS = BM + 4;  // f32 scratch row stride
  static constexpr int K_OFF = 0;
  static constexpr int V_OFF = K_OFF + BN * LD * 2;
  static constexpr int Q_OFF = V_OFF + BN * LD * 2;
  static constexpr int O_OFF = Q_OFF + BM * LD * 2;  // dO
  static constexpr int P_OFF = O_OFF + BM * LD * 2;  // P, then dS, transposed
  static constexpr int S_OFF = P_OFF + BN * LDQ * 2;
  static constexpr int L_OFF = S_OFF + WARPS * 16 * LDS * 4;
  static constexpr int SMEM = L_OFF + 2 * BM * 4;
  static_assert(DH % 32 == 0 && (DH / 32) * 16 <= LDS && BN == 16 * WARPS);
  static_assert(V_OFF % 128 == 0 && Q_OFF % 128 == 0 && O_OFF % 128 == 0 && P_OFF % 128 == 0 && S_OFF % 128 == 0 &&
                L_OFF % 128 == 0);
};

// dout, q: [T, Hq, DH] bf16;  k, v: [T, Hkv, DH] bf16;  lse, delta: [Hq, T] f32;
// seq: [B+1] sequence starts;  tiles: [B+1] prefix counts of 128-key tiles;
// dq: [T, Hq, DH] f32, dk, dv: [T, Hkv, DH] f32, all zeroed, added to atomically.
// Grid: (tiles bound) × Hq blocks, block g·Hq + h; blocks past tiles[B] exit.
template <int DH>
__global__ void __launch_bounds__(256) attention_backward_flash(
    const bf16* __restrict__ dout, const bf16* __restrict__ q, const bf16* __restrict__ k,
    const bf16* __restrict__ v, const float* __restrict__ lse, const float* __restrict__ delta,
    const int32_t* __restrict__ seq, const int32_t* __restrict__ tiles, int B, int64_t T, int Hq, int Hkv, float scale,
    float scale_log2, float* __restrict__ dq, float* __restrict__ dk, float* __restrict__ dv) {
  using C = BwdCfg<DH>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* Ks = reinterpret_cast<bf16*>(smem + C::K_OFF);
  bf16* Vs = reinterpret_cast<bf16*>(smem + C::V_OFF);
  bf16* Qs = reinterpret_cast<bf16*>(smem + C::Q_OFF);
  bf16* dOs = reinterpret_cast<bf16*>(smem + C::O_OFF);
  bf16* Pt = reinterpret_cast<bf16*>(smem + C::P_OFF);  // [BN keys][LDQ], P then dS
  float* Ls = reinterpret_cast<float*>(smem + C::L_OFF);  // lse · log2 e of the query tile
  float* Ds = Ls + C::BM;                                  // delta of the query tile
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* Sw = reinterpret_cast<float*>(smem + C::S_OFF) + warp * 16 * C::LDS;
  bf16* Pw = Pt + warp * 16 * C::LDQ;  // this warp's 16 keys

  const int h = static_cast<int>(blockIdx.x % Hq);
  const int64_t g = blockIdx.x / Hq;
  if (g >= tiles[B]) return;
  const int b = find_seq(tiles, B, g);
  const int64_t s0 = seq[b], s1 = seq[b + 1];
  const int64_t j0 = s0 + (g - tiles[b]) * C::BN, j1 = min(j0 + C::BN, s1);
  const int hk = h / (Hq / Hkv);
  const int64_t ldq = static_cast<int64_t>(Hq) * DH, ldk = static_cast<int64_t>(Hkv) * DH;
  const bf16* qh = q + static_cast<int64_t>(h) * DH;
  const bf16* doh = dout + static_cast<int64_t>(h) * DH;
  const float* lse_h = lse + static_cast<int64_t>(h) * T;
  const float* delta_h = delta + static_cast<int64_t>(h) * T;

  load_tile<C::BN, DH, C::LD, C::NT>(Ks, k + static_cast<int64_t>(hk) * DH, ldk, j0, j1);
  load_tile<C::BN, DH, C::LD, C::NT>(Vs, v + static_cast<int64_t>(hk) * DH, ldk, j0, j1);
  // query tiles start at the diagonal: j0 − s0 is a multiple of BN, hence of BM
  load_tile<C::BM, DH, C::LD, C::NT>(Qs, qh, ldq, j0, min(j0 + C::BM, s1));
  load_tile<C::BM, DH, C::LD, C::NT>(dOs, doh, ldq, j0, min(j0 + C::BM, s1));
  cp_async_commit();

  FragC dk_acc[DH / 16], dv_acc[DH / 16];
#pragma unroll
  for (int n = 0; n < DH / 16; ++n) {
    wmma::fill_fragment(dk_acc[n], 0.f);
    wmma::fill_fragment(dv_acc[n], 0.f);
  }
  // Row r of this warp's 16 keys belongs to lanes 2r and 2r + 1 (even / odd queries).
  const int r = lane / 2, half = lane % 2;
  const int64_t key = j0 + warp * 16 + r;

  for (int64_t i0 = j0; i0 < s1; i0 += C::BM) {
    const int64_t i1 = min(i0 + C::BM, s1);
    const bool next = i1 < s1;
    cp_async_wait<0>();
    if (threadIdx.x < C::BM) {
      const int64_t t = i0 + threadIdx.x;
      Ls[threadIdx.x] = t < i1 ? lse_h[t] * kLog2e : 0.f;
      Ds[threadIdx.x] = t < i1 ? delta_h[t] : 0.f;
    }
    __syncthreads();

    // Sᵀ = K_w Qᵀ (16 keys × 64 queries), then P = exp(scale·S − lse), masked
    mma_abt_store<DH, C::BM / 16>(Sw, C::LDS, Ks + warp * 16 * C::LD, C::LD, Qs, C::LD);
    __syncwarp();
    for (int c = half; c < C::BM; c += 2) {
      const int64_t t = i0 + c;
      const float p = t >= key && t < i1 ? exp2f(Sw[r * C::LDS + c] * scale_log2 - Ls[c]) : 0.f;
      Pw[r * C::LDQ + c] = __float2bfloat16(p);
    }
    __syncwarp();
    mma_ab<C::BM, DH / 16>(dv_acc, Pw, C::LDQ, dOs, C::LD);  // dV_w += Pᵀ_w dO
    mma_abt_store<DH, C::BM / 16>(Sw, C::LDS, Vs + warp * 16 * C::LD, C::LD, dOs, C::LD);  // dPᵀ = V_w dOᵀ
    __syncwarp();
    for (int c = half; c < C::BM; c += 2) {  // dS = P ∘ (dP − delta) · scale
      const float p = __bfloat162float(Pw[r * C::LDQ + c]);
      Pw[r * C::LDQ + c] = __float2bfloat16(p * (Sw[r * C::LDS + c] - Ds[c]) * scale);
    }
    __syncthreads();  // all of dSᵀ written; every warp is done with dOs
    if (next) {
      load_tile<C::BM, DH, C::LD, C::NT>(dOs, doh, ldq, i1, min(i1 + C::BM, s1));
      cp_async_commit();
    }
    mma_ab<C::BM, DH / 16>(dk_acc, Pw, C::LDQ, Qs, C::LD);  // dK_w += dSᵀ_w Q
    __syncthreads();  // every warp is done with Qs
    if (next) {
      load_tile<C::BM, DH, C::LD, C::NT>(Qs, qh, ldq, i1, min(i1 + C::BM, s1));
      cp_async_commit();
    }
    {  // dQ (16 query rows × DH/2 columns per warp) += dS K, added to global memory
      constexpr int NF = DH / 32;
      const int rg = warp % 4, ch = warp / 4;
      FragC acc[NF];
#pragma unroll
      for (int f = 0; f < NF; ++f) wmma::fill_fragment(acc[f], 0.f);
      // dS[query, key] = Pt[key][query]: column-major A
      mma_ab<C::BN, NF, wmma::col_major>(acc, Pt + rg * 16, C::LDQ, Ks + ch * NF * 16, C::LD);
#pragma unroll
      for (int f = 0; f < NF; ++f) wmma::store_matrix_sync(Sw + f * 16, acc[f], C::LDS, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 16 * NF * 16; e += 32) {
        const int row = e / (NF * 16), col = e % (NF * 16);
        const int64_t t = i0 + rg * 16 + row;
        if (t < i1) atomicAdd(dq + t * ldq + static_cast<int64_t>(h) * DH + ch * NF * 16 + col, Sw[row * C::LDS + col]);
      }
    }
    __syncthreads();  // Pt, Ls, Ds and the scratch are reused by the next tile
  }

  // dK, dV of this warp's keys, summed over the query heads of the group
  float* dkh = dk + static_cast<int64_t>(hk) * DH;
  float* dvh = dv + static_cast<int64_t>(hk) * DH;
#pragma unroll
  for (int n = 0; n < DH / 16; ++n) {
#pragma unroll
    for (int which = 0; which < 2; ++which) {
      wmma::store_matrix_sync(Sw, which ? dv_acc[n] : dk_acc[n], C::LDS, wmma::mem_row_major);
      __syncwarp();
      float* dst = which ? dvh : dkh;
      for (int e = lane; e < 256; e += 32) {
        const int64_t kr = j0 + warp * 16 + e / 16;
        if (kr < j1) atomicAdd(dst + kr * ldk + n * 16 + e % 16, Sw[(e / 16) * C::LDS + e % 16]);
      }
      __syncwarp();
    }
  }
}

}  // namespace torl::cuda::attn
