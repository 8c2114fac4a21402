// paged attention on the GPU: new query rows of many sequences (one-token
// decodes and prefill chunks, mixed in one batch) against the paged KV cache,
// plus the two cache writers (see torl/paged_attention.h for the semantics;
// native/cpu/paged_attention.cc is the reference).
//
// What runs:
//   paged_attention_tc       bf16, Dh 64 / 128: one block (4 warps) per
//                            (query row, KV head, key partition) taking all
//                            the query heads of that KV head (up to 8; a
//                            larger group is cut into chunks of 8, each its
//                            own block), so each K/V row is read from memory
//                            once per group. Each warp walks 16-key tiles of
//                            the partition: K and V rows arrive as 16-byte
//                            loads straight into mma.sync m16n8k16 fragments
//                            (S = Q·Kᵀ with the heads as M, padded to 16;
//                            Oᵀ += Vᵀ·Pᵀ with the head dims as M and the heads
//                            as N, V transposed in registers by byte permutes),
//                            online softmax in base 2 with fp32 state, P
//                            rounded to bf16 for the product.
//   paged_attention_generic  everything else (f32, other head sizes up to
//                            256): the same grid with 4 query heads per block;
//                            each warp takes one key at a time, lanes over the
//                            head dims, warp-shuffle dot products, fp32.
//   paged_attention_merge    rows split over more than one key partition: the
//                            partials merged in partition order (one warp per
//                            (row, query head)).
//   kv_cache_write_rows      k, v rows → their cache slots, converted.
//   kv_cache_copy_blocks     whole blocks src[i] → dst[i], both caches.
// Flash-decoding split: the host picks P, the most partitions a row may use,
// from the work items (T · Hkv · head chunks) and the longest context the
// block table can address (maxBlocks · blockSize: contextLens stays on the
// device); a row with L keys uses n = min(P, ⌈L / 512⌉) (≥ 1) partitions of
// ⌈L / n⌉ keys each — cut from its own length, so blocks stay balanced whatever
// the bound. A row with n = 1 is finished in place; the others leave
// (max, Σ exp, unnormalised output) per partition in an fp32 scratch for the
// merge. Results do not depend on the grid: the order of every sum is fixed.
// Never materialised: scores or probabilities beyond one 16-key tile per warp;
// the scratch (P > 1 only) is [T, Hq, P, Dh + 2] f32 plus [T] i32.
// Prefill rows go through the same kernels one query row at a time (each row
// re-reads its prefix's K/V, through L2): right, but a long prompt would
// deserve a tiled tensor-core kernel that shares K/V tiles across query rows.
//
// Index tensors on the device are not value-checked by the dispatcher, so the
// kernels guard every one: cuSeqlensQ values are clamped to [0, T] and a row
// that no clamped sequence holds gets zeros; the key count is clamped to
// [0, maxBlocks · blockSize], so the block-table column is in range; a block
// id outside [0, numBlocks) makes its keys count as absent (never read); a
// slot outside [0, numBlocks · blockSize) or a block id outside [0, numBlocks)
// is skipped by the writers. Bad values give wrong numbers, never an
// out-of-bounds access.
//
// NOT YET RUN ON A GPU (written and compiled on a machine without one). What
// was checked: zero warnings for sm_80 / sm_90 / compute_90 with the project's
// flags (and -Wextra, ptxas -warn-spills -warn-lmem-usage); no spills, no
// stack frame anywhere. Registers (sm_90 / sm_80): paged_attention_tc<128>
// 166 / 164 (3 blocks of 4 warps per SM, 19 KB shared each), tc<64> 114 / 110,
// generic 64–121, merge 40, writers ≤ 40. The mma fragment layouts were
// checked against the PTX ISA's m16n8k16 tables, and a lane-level Python
// emulation of this file (each register a pair of values, each mma gathering
// its operands from the 32 lanes by those tables; part_of, both kernels,
// finish, merge, the host's choice of P) matched a float64 reference to
// 1e-15 on paged caches with garbage slots and blocks: decode, prefill
// chunks, empty sequences, G = 1 … 14 (two head chunks), Dh 8 … 128, split
// rows; swapping two fragment registers in it breaks the match. The first
// GPU run must check the table cases (test/ops/cases/paged_attention.ts:
// Dh 64 / 128 bf16 take the tensor-core path, the other head sizes and f32
// the generic one), then time a batch-256 decode against the HBM roofline.
#include <algorithm>
#include <climits>
#include <cstdint>

#include "common.cuh"
#include "elementwise.cuh"
#include "torl/paged_attention.h"
#include "torl/registry.h"

namespace torl::cuda {

namespace {

using bf16 = __nv_bfloat16;

constexpr int kWarps = 4;  // per partition block
constexpr int kThreads = kWarps * 32;
constexpr int kPartKeys = 512;   // the fewest keys a partition of a split row holds
constexpr int kMaxParts = 1024;  // the most partitions a row is split into
constexpr int kTcHeads = 8;      // query heads per block, tensor-core kernel (the N of Oᵀ's mma)
constexpr int kGenHeads = 4;     // query heads per block, generic kernel
constexpr int kMaxDh = 256;
constexpr int kTile = 16;             // keys per warp step, tensor-core kernel
constexpr int kTargetBlocksPerSM = 16;  // partition blocks aimed at (P is raised until there are this many)
constexpr int kMergeThreads = 128;

// Warp shuffles and votes over the full warp, written out so the lane offset
// and the member mask are immediates: with the intrinsics, nvcc may hoist
// them into registers, and ptxas then calls its convergence-safe emulation
// (__cuda_sm70_shflsync_*, with a stack frame) instead of one SHFL.
template <int O>
__device__ __forceinline__ float shfl_xor(float v) {
  float r;
  asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;\n" : "=f"(r) : "f"(v), "n"(O));
  return r;
}
__device__ __forceinline__ int shfl_idx(int v, int src) {
  int r;
  asm volatile("shfl.sync.idx.b32 %0, %1, %2, 0x1f, 0xffffffff;\n" : "=r"(r) : "r"(v), "r"(src));
  return r;
}
__device__ __forceinline__ float shfl_idx(float v, int src) {
  float r;
  asm volatile("shfl.sync.idx.b32 %0, %1, %2, 0x1f, 0xffffffff;\n" : "=f"(r) : "f"(v), "r"(src));
  return r;
}
__device__ __forceinline__ bool any_lane(bool x) {
  int r;
  asm volatile(
      "{\n .reg .pred p, q;\n setp.ne.s32 p, %1, 0;\n vote.sync.any.pred q, p, 0xffffffff;\n selp.s32 %0, 1, 0, q;\n}\n"
      : "=r"(r)
      : "r"(static_cast<int>(x)));
  return r != 0;
}

__device__ __forceinline__ float warp_sum(float v) {
  v += shfl_xor<16>(v);
  v += shfl_xor<8>(v);
  v += shfl_xor<4>(v);
  v += shfl_xor<2>(v);
  v += shfl_xor<1>(v);
  return v;
}

// Everything the partition kernels read, by value.
struct PagedArgs {
  const void* q;        // [T, Hq, Dh]
  const void* k_cache;  // [NB, BS, Hkv, Dh]
  const void* v_cache;
  const int32_t* block_tables;  // [B, MB]
  const int32_t* cu;            // [B + 1]
  const int32_t* ctx;           // [B]
  void* out;                    // [T, Hq, Dh], q's dtype
  float* part_acc;              // [T, Hq, P, Dh] f32 (P > 1 only)
  float* part_ml;               // [T, Hq, P, 2] f32: max (log2 units), Σ exp
  int32_t* nparts;              // [T]: partitions each row used (P > 1 only)
  int T, Hq, Hkv, Dh, G, B, MB, NB, BS;
  int P;         // partitions per row at most (the grid's fastest index)
  int HC;        // head chunks per KV head
  int max_keys;  // MB · BS
  float scale_log2;
};

// The work of one partition block.
struct Part {
  int t, hk, hc, j;  // query row, KV head, head chunk, partition
  int h0, nh;        // its query heads [h0, h0 + nh)
  int b;             // the row's sequence (meaningful when k1 > k0)
  int k0, k1;        // the keys of this partition: cache positions [k0, k1)
  int n;             // partitions the row uses (≥ 1)
};

// The block's work; false when the row uses fewer partitions than j + 1.
// Row t belongs to the last b with cu[b] ≤ t (binary search over the raw
// values: b ∈ [0, B) whatever they hold), and only if clamp(cu[b]) ≤ t <
// clamp(cu[b + 1]); it sits at position ctx[b] − n_b + i and sees the keys
// 0 … that position, their count clamped to [0, max_keys].
__device__ __forceinline__ bool part_of(const PagedArgs& a, int hpc, Part& p) {
  const int id = static_cast<int>(blockIdx.x);  // < 2^31 (checked on the host)
  p.j = id % a.P;
  const int pair = id / a.P;
  p.hc = pair % a.HC;
  const int th = pair / a.HC;
  p.hk = th % a.Hkv;
  p.t = th / a.Hkv;
  p.h0 = p.hk * a.G + p.hc * hpc;
  p.nh = min(hpc, a.G - p.hc * hpc);
  p.b = 0;
  int L = 0;
  if (a.B > 0) {
    int lo = 0, hi = a.B - 1;
    while (lo < hi) {
      const int mid = lo + (hi - lo + 1) / 2;
      if (a.cu[mid] <= p.t) lo = mid;
      else hi = mid - 1;
    }
    const int s0 = min(max(a.cu[lo], 0), a.T), s1 = min(max(a.cu[lo + 1], 0), a.T);
    p.b = lo;
    if (p.t >= s0 && p.t < s1) {
      const int64_t pos = static_cast<int64_t>(a.ctx[lo]) - (s1 - s0) + (p.t - s0);
      L = static_cast<int>(pos < 0 ? 0 : pos >= a.max_keys ? a.max_keys : pos + 1);
    }
  }
  p.n = max(1, min(a.P, (L + kPartKeys - 1) / kPartKeys));
  if (p.j >= p.n) return false;
  const int chunk = (L + p.n - 1) / p.n;
  p.k0 = min(L, p.j * chunk);
  p.k1 = min(L, p.k0 + chunk);
  return true;
}

// The cache row (block · BS + slot) of key position s (0 ≤ s < MB · BS) of the
// sequence whose block-table row is `table`; −1 when the block id is outside [0, NB).
__device__ __forceinline__ int key_row(const PagedArgs& a, const int32_t* __restrict__ table, int s) {
  const int col = s / a.BS;
  const int id = table[col];
  return id >= 0 && id < a.NB ? id * a.BS + (s - col * a.BS) : -1;
}

// The block's per-warp partials → this partition's share of the output (after
// a __syncthreads; every thread calls it). s_m, s_l: [kWarps][HPC] (max in
// log2 units, −inf for a warp that saw no key; Σ exp); s_acc: [kWarps][HPC][DHS].
// A row with one partition is finished here (out = acc / l, 0 when l = 0);
// otherwise the merged partial goes to the scratch.
template <typename T, int HPC, int DHS>
__device__ void finish(const PagedArgs& a, const Part& p, const float* s_m, const float* s_l, const float* s_acc) {
  const bool direct = p.n == 1;
  for (int i = threadIdx.x; i < p.nh * a.Dh; i += blockDim.x) {
    const int h = i / a.Dh, d = i - h * a.Dh;
    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) M = fmaxf(M, s_m[w * HPC + h]);
    float A = 0.f, L = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float mw = s_m[w * HPC + h];
      if (mw == -INFINITY) continue;  // a warp that saw no key (l = 0, acc = 0)
      const float e = exp2f(mw - M);
      A += e * s_acc[(w * HPC + h) * DHS + d];
      L += e * s_l[w * HPC + h];
    }
    const int64_t row = static_cast<int64_t>(p.t) * a.Hq + p.h0 + h;
    if (direct) {
      const float inv = L > 0.f ? __frcp_rn(L) : 0.f;
      static_cast<T*>(a.out)[row * a.Dh + d] = from_f32<T>(A * inv);
    } else {
      const int64_t slot = row * a.P + p.j;
      a.part_acc[slot * a.Dh + d] = A;
      if (d == 0) {
        a.part_ml[2 * slot] = M;
        a.part_ml[2 * slot + 1] = L;
      }
    }
  }
  if (a.nparts && p.hk == 0 && p.hc == 0 && p.j == 0 && threadIdx.x == 0) a.nparts[p.t] = p.n;
}

// --- tensor-core kernel (bf16, Dh 64 / 128) ----------------------------------

// c += A·B, m16n8k16, bf16 in, f32 accumulate. Fragments (g = lane / 4,
// tq = lane % 4; each register two bf16, the lower index in the low half):
//   A (16×16, row): a0 = (g, 2tq..2tq+1)  a1 = (g+8, 2tq..)  a2 = (g, 2tq+8..)  a3 = (g+8, 2tq+8..)
//   B (16×8, col):  b0 = (k 2tq..2tq+1, n g)  b1 = (k 2tq+8..2tq+9, n g)
//   C (16×8):       c0, c1 = (g, 2tq), (g, 2tq+1)   c2, c3 = (g+8, 2tq), (g+8, 2tq+1)
__device__ __forceinline__ void mma_bf16(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                         uint32_t b0, uint32_t b1) {
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);  // .x (lo) in the low half
  return *reinterpret_cast<const uint32_t*>(&h);
}

__device__ __forceinline__ uint32_t word(const uint4& v, int i) { return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w; }

__device__ __forceinline__ uint4 load16(const bf16* p, bool ok) {
  return ok ? __ldg(reinterpret_cast<const uint4*>(p)) : make_uint4(0, 0, 0, 0);
}

// q, out: [T, Hq, DH] bf16;  k_cache, v_cache: [NB, BS, Hkv, DH] bf16;  scratch as PagedArgs.
// Grid: T · Hkv · HC · P blocks of kThreads (HC = ⌈G / 8⌉), block = ((t · Hkv + hk) · HC + hc) · P + j.
// Lane (g, tq) of a warp: in S = Q·Kᵀ (M = heads, N = 8 keys, K = 16 dims) it
// holds head g's q and keys g, 8 + g of the tile; the K dimension is permuted
// so one 16-byte load serves two k-steps: k-step 2c covers dims c·32 + 8tq +
// {0,1} (logical 2tq, 2tq+1) and {2,3} (logical 2tq+8, 2tq+9), k-step 2c+1 the
// dims {4,5} and {6,7} — the same permutation for q (A) and K (B), so every
// dot product is whole. Its S entries are head g, keys 2tq, 2tq+1 (n-tile 0)
// and 8 + 2tq, 9 + 2tq (n-tile 1): exactly Pᵀ's B fragment for the 16-key
// k-step of Oᵀ = Vᵀ·Pᵀ (M = 16 dims, N = 8 heads). For that product the lane
// loads keys 2tq, 2tq+1, 2tq+8, 2tq+9 at dims c·64 + 8g … + 8; m-tile (c, jj)
// has row g = dim c·64 + 8g + 2jj and row g+8 = the next dim, so word jj of
// those loads holds (row g, row g+8) of one key, and a byte permute pairs two
// keys per register as A's fragment wants. Its Oᵀ entries: heads 2tq, 2tq+1
// at dims c·64 + 8g + 2jj + {0, 1}.
template <int DH>
__global__ void __launch_bounds__(kThreads, 3) paged_attention_tc(const PagedArgs a) {
  constexpr int QC = DH / 32;  // 16-byte q / K loads per key row and lane (two k-steps each)
  constexpr int VC = DH / 64;  // 16-byte V loads per key row and lane
  constexpr int MT = DH / 16;  // m-tiles of Oᵀ
  __shared__ float s_m[kWarps * kTcHeads], s_l[kWarps * kTcHeads];
  constexpr int kQld = DH + 32;  // q row stride in s_q: 8 lanes of one phase hit distinct banks
  __shared__ __align__(16) float s_acc[kWarps * kTcHeads * DH];
  __shared__ __align__(16) bf16 s_q[kTcHeads * kQld];
  Part p;
  if (!part_of(a, kTcHeads, p)) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, tq = lane % 4;

  // the block's q rows (zero for a padding head ≥ nh), read back as fragments
  // inside the loop: the registers they would hold are what the K/V tile needs
  {
    const bf16* qrow = static_cast<const bf16*>(a.q) + (static_cast<int64_t>(p.t) * a.Hq + p.h0) * DH;
    for (int i = threadIdx.x; i < kTcHeads * DH / 8; i += kThreads) {
      const int h = i / (DH / 8), d = (i % (DH / 8)) * 8;
      *reinterpret_cast<uint4*>(s_q + h * kQld + d) = load16(qrow + min(h, p.nh - 1) * DH + d, h < p.nh);
    }
  }
  __syncthreads();
  const bf16* qf = s_q + g * kQld + 8 * tq;
  float o[MT][4];
#pragma unroll
  for (int i = 0; i < MT; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
  float m_run = -INFINITY;  // head g's running max (log2 units), the same in its 4 lanes
  float l_run = 0.f;        // Σ exp over this lane's keys, relative to m_run

  const int32_t* table = a.block_tables + static_cast<int64_t>(p.b) * a.MB;
  const int64_t ld = static_cast<int64_t>(a.Hkv) * DH;  // between cache rows
  const bf16* kbase = static_cast<const bf16*>(a.k_cache) + p.hk * DH + 8 * tq;  // this lane's K columns
  const bf16* vbase = static_cast<const bf16*>(a.v_cache) + p.hk * DH + 8 * g;   // and V columns

  for (int base = p.k0 + warp * kTile; base < p.k1; base += kWarps * kTile) {
    // lanes 0..15 (and again 16..31) find the cache rows of the tile's keys
    const int s = base + (lane & 15);
    const int myrow = s < p.k1 ? key_row(a, table, s) : -1;
    const int rk[2] = {shfl_idx(myrow, g), shfl_idx(myrow, g + 8)};
    const int rv[4] = {shfl_idx(myrow, 2 * tq), shfl_idx(myrow, 2 * tq + 1), shfl_idx(myrow, 2 * tq + 8),
                       shfl_idx(myrow, 2 * tq + 9)};
    uint4 kf[2][QC], vf[4][VC];
#pragma unroll
    for (int nt = 0; nt < 2; ++nt)
#pragma unroll
      for (int c = 0; c < QC; ++c)
        kf[nt][c] = load16(kbase + static_cast<int64_t>(max(rk[nt], 0)) * ld + c * 32, rk[nt] >= 0);
#pragma unroll
    for (int e = 0; e < 4; ++e)
#pragma unroll
      for (int c = 0; c < VC; ++c)
        vf[e][c] = load16(vbase + static_cast<int64_t>(max(rv[e], 0)) * ld + c * 64, rv[e] >= 0);

    // S = Q·Kᵀ: n-tile nt = keys base + 8nt … + 8
    float sc[2][4];
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
      sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.f;
#pragma unroll
      for (int c = 0; c < QC; ++c) {
        const uint4 qv = *reinterpret_cast<const uint4*>(qf + c * 32);
        mma_bf16(sc[nt], qv.x, 0u, qv.y, 0u, kf[nt][c].x, kf[nt][c].y);
        mma_bf16(sc[nt], qv.z, 0u, qv.w, 0u, kf[nt][c].z, kf[nt][c].w);
      }
    }
    // head g's scores for keys 2tq, 2tq+1, 2tq+8, 2tq+9 (−inf where absent)
    const float x[4] = {rv[0] >= 0 ? sc[0][0] * a.scale_log2 : -INFINITY,
                        rv[1] >= 0 ? sc[0][1] * a.scale_log2 : -INFINITY,
                        rv[2] >= 0 ? sc[1][0] * a.scale_log2 : -INFINITY,
                        rv[3] >= 0 ? sc[1][1] * a.scale_log2 : -INFINITY};
    float tmax = fmaxf(fmaxf(x[0], x[1]), fmaxf(x[2], x[3]));
    tmax = fmaxf(tmax, shfl_xor<1>(tmax));
    tmax = fmaxf(tmax, shfl_xor<2>(tmax));
    const float m_new = fmaxf(m_run, tmax);
    const float m_use = m_new == -INFINITY ? 0.f : m_new;  // no key yet: every weight 0, no NaN
    const float alpha = exp2f(m_run - m_use);
    float pr[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) pr[e] = exp2f(x[e] - m_use);
    l_run = l_run * alpha + ((pr[0] + pr[1]) + (pr[2] + pr[3]));
    m_run = m_new;
    // Oᵀ's columns are heads 2tq, 2tq+1, whose alphas lanes 8tq and 8tq + 4 hold
    const float a0 = shfl_idx(alpha, 8 * tq), a1 = shfl_idx(alpha, 8 * tq + 4);
    if (any_lane(alpha != 1.f)) {
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        o[i][0] *= a0;
        o[i][1] *= a1;
        o[i][2] *= a0;
        o[i][3] *= a1;
      }
    }
    // Oᵀ += Vᵀ·Pᵀ (absent keys: V zero-filled, P 0)
    const uint32_t pb0 = pack_bf16(pr[0], pr[1]), pb1 = pack_bf16(pr[2], pr[3]);
#pragma unroll
    for (int c = 0; c < VC; ++c)
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) {
        const uint32_t w0 = word(vf[0][c], jj), w1 = word(vf[1][c], jj);
        const uint32_t w2 = word(vf[2][c], jj), w3 = word(vf[3][c], jj);
        mma_bf16(o[c * 4 + jj], __byte_perm(w0, w1, 0x5410), __byte_perm(w0, w1, 0x7632), __byte_perm(w2, w3, 0x5410),
                 __byte_perm(w2, w3, 0x7632), pb0, pb1);
      }
  }

  l_run += shfl_xor<1>(l_run);
  l_run += shfl_xor<2>(l_run);
  if (tq == 0) {
    s_m[warp * kTcHeads + g] = m_run;
    s_l[warp * kTcHeads + g] = l_run;
  }
  float* acc_a = s_acc + (warp * kTcHeads + 2 * tq) * DH;  // head 2tq
  float* acc_b = acc_a + DH;                               // head 2tq + 1
#pragma unroll
  for (int c = 0; c < VC; ++c)
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) {
      const int d = c * 64 + 8 * g + 2 * jj;
      *reinterpret_cast<float2*>(acc_a + d) = make_float2(o[c * 4 + jj][0], o[c * 4 + jj][2]);
      *reinterpret_cast<float2*>(acc_b + d) = make_float2(o[c * 4 + jj][1], o[c * 4 + jj][3]);
    }
  __syncthreads();
  finish<bf16, kTcHeads, DH>(a, p, s_m, s_l, s_acc);
}

// --- generic kernel (f32 or bf16, any Dh ≤ 32·NV) -----------------------------

// As paged_attention_tc, with kGenHeads query heads per block (HC = ⌈G / 4⌉).
// Warp w takes keys k0 + w, k0 + w + 4, …; lane holds dims lane + 32i (i < NV).
template <typename T, int NV>
__global__ void __launch_bounds__(kThreads) paged_attention_generic(const PagedArgs a) {
  constexpr int DHS = 32 * NV;
  __shared__ float s_m[kWarps * kGenHeads], s_l[kWarps * kGenHeads];
  __shared__ float s_acc[kWarps * kGenHeads * DHS];
  Part p;
  if (!part_of(a, kGenHeads, p)) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, Dh = a.Dh;

  float qr[kGenHeads][NV], acc[kGenHeads][NV], m[kGenHeads], l[kGenHeads];
  const T* q = static_cast<const T*>(a.q) + (static_cast<int64_t>(p.t) * a.Hq + p.h0) * Dh;
#pragma unroll
  for (int h = 0; h < kGenHeads; ++h) {
    m[h] = -INFINITY;
    l[h] = 0.f;
#pragma unroll
    for (int i = 0; i < NV; ++i) {
      const int d = lane + 32 * i;
      qr[h][i] = h < p.nh && d < Dh ? to_f32(q[h * Dh + d]) * a.scale_log2 : 0.f;
      acc[h][i] = 0.f;
    }
  }
  const int32_t* table = a.block_tables + static_cast<int64_t>(p.b) * a.MB;
  const int64_t ld = static_cast<int64_t>(a.Hkv) * Dh;
  const T* kbase = static_cast<const T*>(a.k_cache) + p.hk * Dh;
  const T* vbase = static_cast<const T*>(a.v_cache) + p.hk * Dh;

  for (int s = p.k0 + warp; s < p.k1; s += kWarps) {  // warp-uniform
    // a block id out of range makes the key absent: nothing read, no weight
    // (no branch around the shuffles below: they stay plain instructions)
    const int r = key_row(a, table, s);
    const bool ok = r >= 0;
    const T* kr = kbase + max(r, 0) * ld;
    const T* vr = vbase + max(r, 0) * ld;
    float kv[NV];
#pragma unroll
    for (int i = 0; i < NV; ++i) kv[i] = ok && lane + 32 * i < Dh ? to_f32(kr[lane + 32 * i]) : 0.f;
    float x[kGenHeads];  // (a padding head h ≥ nh has q = 0 and is never used)
#pragma unroll
    for (int h = 0; h < kGenHeads; ++h) {
      float dot = 0.f;
#pragma unroll
      for (int i = 0; i < NV; ++i) dot += qr[h][i] * kv[i];
      x[h] = warp_sum(dot);  // outside any branch: shuffles stay plain instructions
    }
#pragma unroll
    for (int i = 0; i < NV; ++i) kv[i] = ok && lane + 32 * i < Dh ? to_f32(vr[lane + 32 * i]) : 0.f;
#pragma unroll
    for (int h = 0; h < kGenHeads; ++h) {
      const float xh = ok ? x[h] : -INFINITY;
      const float mn = fmaxf(m[h], xh);
      const float mu = mn == -INFINITY ? 0.f : mn;
      const float alpha = exp2f(m[h] - mu), e = exp2f(xh - mu);
      l[h] = l[h] * alpha + e;
#pragma unroll
      for (int i = 0; i < NV; ++i) acc[h][i] = acc[h][i] * alpha + e * kv[i];
      m[h] = mn;
    }
  }

#pragma unroll
  for (int h = 0; h < kGenHeads; ++h) {
    if (lane == 0) {
      s_m[warp * kGenHeads + h] = m[h];
      s_l[warp * kGenHeads + h] = l[h];
    }
#pragma unroll
    for (int i = 0; i < NV; ++i) s_acc[(warp * kGenHeads + h) * DHS + lane + 32 * i] = acc[h][i];
  }
  __syncthreads();
  finish<T, kGenHeads, DHS>(a, p, s_m, s_l, s_acc);
}

// --- merge ---------------------------------------------------------------------

// part_acc [T, Hq, P, Dh], part_ml [T, Hq, P, 2], nparts [T] → out [T, Hq, Dh]
// for the rows split over n > 1 partitions (the partition kernel finished the
// others in place): m = max m_j, out = Σ_j 2^(m_j − m) acc_j / Σ_j 2^(m_j − m) l_j
// in partition order, skipping partitions with l_j = 0. One warp per (row, query head).
template <typename T>
__global__ void __launch_bounds__(kMergeThreads) paged_attention_merge(const float* __restrict__ part_acc,
                                                                       const float* __restrict__ part_ml,
                                                                       const int32_t* __restrict__ nparts, int Tn,
                                                                       int Hq, int Dh, int P, T* __restrict__ out) {
  const int64_t id = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (id >= static_cast<int64_t>(Tn) * Hq) return;
  const int n = min(nparts[id / Hq], P);
  if (n <= 1) return;
  const int lane = threadIdx.x % 32;
  const float* ml = part_ml + id * P * 2;
  const float* pa = part_acc + id * P * Dh;
  float M = -INFINITY;
  for (int j = 0; j < n; ++j) M = fmaxf(M, ml[2 * j]);
  float acc[kMaxDh / 32] = {}, L = 0.f;
  for (int j = 0; j < n; ++j) {
    const float lj = ml[2 * j + 1];
    if (lj == 0.f) continue;  // a partition that saw no key
    const float e = exp2f(ml[2 * j] - M);
    L += e * lj;
#pragma unroll
    for (int i = 0; i < kMaxDh / 32; ++i)
      if (lane + 32 * i < Dh) acc[i] += e * pa[static_cast<int64_t>(j) * Dh + lane + 32 * i];
  }
  const float inv = L > 0.f ? __frcp_rn(L) : 0.f;
#pragma unroll
  for (int i = 0; i < kMaxDh / 32; ++i)
    if (lane + 32 * i < Dh) out[id * Dh + lane + 32 * i] = from_f32<T>(acc[i] * inv);
}

// --- cache writers ---------------------------------------------------------------

// k, v: [T, row] (row = Hkv · Dh);  k_cache, v_cache: [nslots, row];  slots: [T].
// One thread per (token, group of 8 elements of its row), grid-stride; a slot
// outside [0, nslots) (−1 included) is skipped.
__global__ void kv_cache_write_rows(In k, In v, Out k_cache, Out v_cache, const int32_t* __restrict__ slots,
                                    int64_t T, int64_t row, int64_t nslots, bool vec) {
  const int64_t groups = (row + 7) / 8, n = T * groups, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t t = i / groups, j = (i - t * groups) * 8;
    const int64_t s = slots[t];
    if (s < 0 || s >= nslots) continue;
    float x[8];
    load_group(k, t * row, j, row, vec, x);
    store_group(k_cache, s * row, j, row, vec, x);
    load_group(v, t * row, j, row, vec, x);
    store_group(v_cache, s * row, j, row, vec, x);
  }
}

// k_cache, v_cache: [NB, units] of U (a block is `units` copy units);  src, dst: [N].
// One thread per (pair, unit), grid-stride; a pair with an id outside [0, NB) is skipped.
template <typename U>
__global__ void kv_cache_copy_blocks(U* k_cache, U* v_cache, const int32_t* __restrict__ src,
                                     const int32_t* __restrict__ dst, int64_t N, int64_t units, int64_t NB) {
  const int64_t n = N * units, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t b = i / units, u = i - b * units;
    const int64_t s = src[b], d = dst[b];
    if (s < 0 || s >= NB || d < 0 || d >= NB) continue;
    k_cache[d * units + u] = k_cache[s * units + u];
    v_cache[d * units + u] = v_cache[s * units + u];
  }
}

// --- host drivers --------------------------------------------------------------------

template <typename T, int NV>
void launch_generic(const PagedArgs& a, unsigned blocks, cudaStream_t st) {
  paged_attention_generic<T, NV><<<blocks, kThreads, 0, st>>>(a);
  TORL_CUDA_LAUNCHED("paged_attention_generic");
}

template <typename T>
void launch_generic_dh(const PagedArgs& a, unsigned blocks, cudaStream_t st) {
  if (a.Dh <= 64) launch_generic<T, 2>(a, blocks, st);
  else if (a.Dh <= 128) launch_generic<T, 4>(a, blocks, st);
  else launch_generic<T, 8>(a, blocks, st);
}

Tensor paged_forward(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const Tensor& block_tables,
                     const Tensor& cu_seqlens_q, const Tensor& context_lens, double scale) {
  const char* op = "pagedAttention (cuda)";
  const int dev = q.device().index;
  set_device(dev);
  Tensor out = empty(q.shape, q.dtype, q.device());
  const int64_t T = q.dim(0), Hq = q.dim(1), Dh = q.dim(2);
  const int64_t NB = k_cache.dim(0), BS = k_cache.dim(1), Hkv = k_cache.dim(2);
  const int64_t B = block_tables.dim(0), MB = block_tables.dim(1);
  if (T == 0) return out;
  TORL_CHECK(Dh <= kMaxDh, op, ": head dimension Dh = ", Dh, " is above ", kMaxDh, ", the largest the GPU kernel takes");
  TORL_CHECK(T <= INT_MAX && Hq <= INT_MAX && B < INT_MAX && NB * BS <= INT_MAX && MB * BS <= INT_MAX - kPartKeys, op,
             ": T = ", T, ", numBlocks · blockSize = ", NB * BS, " and maxBlocks · blockSize = ", MB * BS,
             " must fit the kernel's 32-bit indices");
  const bool bf = q.dtype == DType::BF16;
  const bool tc = bf && (Dh == 64 || Dh == 128) && aligned16({q.data(), k_cache.data(), v_cache.data()});
  const int64_t G = Hq / Hkv, hpc = tc ? kTcHeads : kGenHeads, HC = (G + hpc - 1) / hpc;
  const int64_t pairs = T * Hkv * HC;
  int sms = 0;
  TORL_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const int64_t target = static_cast<int64_t>(std::max(sms, 1)) * kTargetBlocksPerSM;
  const int64_t by_len = std::max<int64_t>(1, (MB * BS + kPartKeys - 1) / kPartKeys);
  const int64_t P = std::clamp<int64_t>((target + pairs - 1) / pairs, 1, std::min<int64_t>(by_len, kMaxParts));
  TORL_CHECK(pairs * P <= INT_MAX, op, ": ", pairs * P, " blocks exceed the grid limit");

  PagedArgs a{};
  a.q = q.data(), a.k_cache = k_cache.data(), a.v_cache = v_cache.data();
  a.block_tables = block_tables.ptr<int32_t>(), a.cu = cu_seqlens_q.ptr<int32_t>();
  a.ctx = context_lens.ptr<int32_t>(), a.out = out.data();
  a.T = static_cast<int>(T), a.Hq = static_cast<int>(Hq), a.Hkv = static_cast<int>(Hkv), a.Dh = static_cast<int>(Dh);
  a.G = static_cast<int>(G), a.B = static_cast<int>(B), a.MB = static_cast<int>(MB), a.NB = static_cast<int>(NB);
  a.BS = static_cast<int>(BS), a.P = static_cast<int>(P), a.HC = static_cast<int>(HC);
  a.max_keys = static_cast<int>(MB * BS);
  a.scale_log2 = static_cast<float>(scale * 1.4426950408889634);
  Tensor part_acc, part_ml, nparts;
  if (P > 1) {
    part_acc = empty({T, Hq, P, Dh}, DType::F32, q.device());
    part_ml = empty({T, Hq, P, 2}, DType::F32, q.device());
    nparts = empty({T}, DType::I32, q.device());
    a.part_acc = part_acc.ptr<float>(), a.part_ml = part_ml.ptr<float>(), a.nparts = nparts.ptr<int32_t>();
  }

  const cudaStream_t st = current_stream(dev);
  const unsigned blocks = static_cast<unsigned>(pairs * P);
  if (tc) {
    if (Dh == 64) paged_attention_tc<64><<<blocks, kThreads, 0, st>>>(a);
    else paged_attention_tc<128><<<blocks, kThreads, 0, st>>>(a);
    TORL_CUDA_LAUNCHED("paged_attention_tc");
  } else if (bf) {
    launch_generic_dh<bf16>(a, blocks, st);
  } else {
    launch_generic_dh<float>(a, blocks, st);
  }
  if (P > 1) {
    const int64_t warps = T * Hq, per = kMergeThreads / 32;
    TORL_CHECK((warps + per - 1) / per <= INT_MAX, op, ": ", warps, " merge warps exceed the grid limit");
    const unsigned mb = static_cast<unsigned>((warps + per - 1) / per);
    if (bf)
      paged_attention_merge<bf16><<<mb, kMergeThreads, 0, st>>>(part_acc.ptr<float>(), part_ml.ptr<float>(),
                                                                 nparts.ptr<int32_t>(), a.T, a.Hq, a.Dh, a.P,
                                                                 out.ptr<bf16>());
    else
      paged_attention_merge<float><<<mb, kMergeThreads, 0, st>>>(part_acc.ptr<float>(), part_ml.ptr<float>(),
                                                                  nparts.ptr<int32_t>(), a.T, a.Hq, a.Dh, a.P,
                                                                  out.ptr<float>());
    TORL_CUDA_LAUNCHED("paged_attention_merge");
  }
  return out;
}

void cache_write(const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                 const Tensor& slot_mapping) {
  const int dev = k.device().index;
  set_device(dev);
  const int64_t T = k.dim(0), row = k.dim(1) * k.dim(2), nslots = k_cache.dim(0) * k_cache.dim(1);
  if (T == 0 || row == 0) return;
  const bool vec = row % 8 == 0 && aligned16({k.data(), v.data(), k_cache.data(), v_cache.data()});
  kv_cache_write_rows<<<grid_for(T * ((row + 7) / 8), 256), 256, 0, current_stream(dev)>>>(
      in(k), in(v), out(k_cache), out(v_cache), slot_mapping.ptr<int32_t>(), T, row, nslots, vec);
  TORL_CUDA_LAUNCHED("kv_cache_write_rows");
}

template <typename U>
void copy_blocks(const Tensor& k_cache, const Tensor& v_cache, const Tensor& src, const Tensor& dst, int64_t units,
                 cudaStream_t st) {
  const int64_t N = src.dim(0);
  kv_cache_copy_blocks<U><<<grid_for(N * units, 256), 256, 0, st>>>(
      static_cast<U*>(k_cache.data()), static_cast<U*>(v_cache.data()), src.ptr<int32_t>(), dst.ptr<int32_t>(), N,
      units, k_cache.dim(0));
  TORL_CUDA_LAUNCHED("kv_cache_copy_blocks");
}

void cache_copy(const Tensor& k_cache, const Tensor& v_cache, const Tensor& src, const Tensor& dst) {
  const int dev = k_cache.device().index;
  set_device(dev);
  const int64_t N = src.dim(0);
  const int64_t bytes = static_cast<int64_t>(k_cache.nbytes()) / k_cache.dim(0);  // one block
  if (N == 0 || bytes == 0) return;
  const cudaStream_t st = current_stream(dev);
  if (bytes % 16 == 0 && aligned16({k_cache.data(), v_cache.data()})) copy_blocks<uint4>(k_cache, v_cache, src, dst, bytes / 16, st);
  else if (bytes % 4 == 0) copy_blocks<uint32_t>(k_cache, v_cache, src, dst, bytes / 4, st);
  else copy_blocks<uint16_t>(k_cache, v_cache, src, dst, bytes / 2, st);
}

}  // namespace

TORL_REGISTER_KERNEL(paged_attention_forward, CUDA, paged_forward);
TORL_REGISTER_KERNEL(kv_cache_write, CUDA, cache_write);
TORL_REGISTER_KERNEL(kv_cache_copy, CUDA, cache_copy);

}  // namespace torl::cuda
