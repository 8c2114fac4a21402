// CPU GEMM driver (Goto/BLIS blocking): C[m, n] = alpha·op(A)·op(B) + beta·C.
//   for jc in n by NC:       B block [KC, NC] packed into NR-wide panels (shared, L3)
//     for pc in k by KC:
//       for ic in m by MC:   A block [MC, KC] packed into MR-tall panels (per thread, L2)
//         micro-tiles MR×NR: registers (gemm_kernels.inc)
// Threads pack B's panels together, then each computes one equal share of C's
// rows (of its columns when m is short), packing its own A blocks.
// bf16 inputs are widened to f32 while packing; alpha is folded into A's packing.
// Few-row products in the x·wᵀ layout skip packing: dot products streaming w
// once. A w packed ahead (prepack_nt) stands in for the B panels, and then every
// row count takes the tiles: each C element is then summed in the same order
// whatever m is, so a sequence's decode numerics do not depend on what else
// shares its step (batch invariance: the engine's log-probs are reproducible).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "gemm_kernels.h"
#include "torl/error.h"
#include "torl/gemm.h"
#include "torl/simd.h"
#include "torl/threadpool.h"

namespace torl::cpu {
namespace {

constexpr int64_t KC = 256, MC = 96, NC = 4096;

const GemmKernels& kernels() {
  switch (simd_level()) {
    case Simd::AVX512: return gemm_kernels_avx512();
    case Simd::AVX2: return gemm_kernels_avx2();
    default: return gemm_kernels_scalar();
  }
}

// A growable 64-byte-aligned scratch buffer, one per thread.
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  ~Scratch() { std::free(p); }
  float* get(size_t floats) {
    if (floats > n) {
      std::free(p);
      p = nullptr;
      if (posix_memalign(reinterpret_cast<void**>(&p), 64, floats * sizeof(float)) != 0 || !p) {
        n = 0;
        fail("gemm: out of memory for a ", floats * 4, "-byte packing buffer");
      }
      n = floats;
    }
    return p;
  }
};
thread_local Scratch tl_a, tl_b;

inline float ld(const void* base, DType t, int64_t i) {
  return t == DType::BF16 ? bf16_to_f32(static_cast<const uint16_t*>(base)[i]) : static_cast<const float*>(base)[i];
}

// op(X) for X stored row-major with leading dim ld.
struct Operand {
  const void* base;
  DType dtype;
  int64_t ld;
  bool trans;
};

inline float widen(float x) { return x; }
inline float widen(uint16_t x) { return bf16_to_f32(x); }

// Rows of A and B are read in short pieces (kc elements, often 1 KB) at a
// large stride, too short for the hardware prefetcher to catch from DRAM: the
// packers request the next rows' lines while they copy the current ones.
inline void prefetch_lines(const void* p, size_t bytes) {
  for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(static_cast<const char*>(p) + b);
}

// Packing loops specialised by element type and layout, so the inner loops
// are branch-free: each walks its source contiguously.
//   pack_a: A[i0:i0+mc, p0:p0+kc] → panels of MR rows, k-major: dst[panel][p][r]; zero-padded.
template <typename T, bool TRANS>
void pack_a_t(const T* src, int64_t ld, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int MR, float alpha,
              float* dst) {
  for (int64_t ip = 0; ip < mc; ip += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - ip);
    float* panel = dst + ip * kc;
    if (rows < MR)
      for (int64_t i = 0; i < kc * MR; ++i) panel[i] = 0.f;
    for (int64_t r = 0; r < rows; ++r) {
      if (TRANS) {  // stored [k, m]: element (i, p) at p·ld + i
        for (int64_t p = 0; p < kc; ++p) panel[p * MR + r] = alpha * widen(src[(p0 + p) * ld + i0 + ip + r]);
      } else {
        const T* row = src + (i0 + ip + r) * ld + p0;
        if (ip + MR + r < mc) prefetch_lines(row + MR * ld, kc * sizeof(T));  // the next panel's row
        for (int64_t p = 0; p < kc; ++p) panel[p * MR + r] = alpha * widen(row[p]);
      }
    }
  }
}

void pack_a(const Operand& A, int64_t i0, int64_t mc, int64_t p0, int64_t kc, int MR, float alpha, float* dst) {
  if (A.dtype == DType::BF16) {
    const auto* s = static_cast<const uint16_t*>(A.base);
    A.trans ? pack_a_t<uint16_t, true>(s, A.ld, i0, mc, p0, kc, MR, alpha, dst)
            : pack_a_t<uint16_t, false>(s, A.ld, i0, mc, p0, kc, MR, alpha, dst);
  } else {
    const auto* s = static_cast<const float*>(A.base);
    A.trans ? pack_a_t<float, true>(s, A.ld, i0, mc, p0, kc, MR, alpha, dst)
            : pack_a_t<float, false>(s, A.ld, i0, mc, p0, kc, MR, alpha, dst);
  }
}

//   pack_b: B[p0:p0+kc, j0:j0+cols] → one panel, k-major: dst[p][c]; zero-padded to NR.
// Bᵀ stored (the x·wᵀ layout) is a transpose: the SIMD kernels' pack_nt.
template <typename T>
void pack_b_n(const T* src, int64_t ld, int64_t p0, int64_t kc, int64_t j0, int64_t cols, int NR, float* dst) {
  if (cols < NR)
    for (int64_t i = 0; i < kc * NR; ++i) dst[i] = 0.f;
  for (int64_t p = 0; p < kc; ++p) {
    const T* row = src + (p0 + p) * ld + j0;
    for (int64_t c = 0; c < cols; ++c) dst[p * NR + c] = widen(row[c]);
  }
}

void pack_b_panel(const GemmKernels& ks, const Operand& B, int64_t p0, int64_t kc, int64_t j0, int64_t cols,
                  float* dst) {
  if (B.trans) {  // stored [n, k]: source rows j0.. are the panel's columns
    const char* src = static_cast<const char*>(B.base) + (j0 * B.ld + p0) * dtype_size(B.dtype);
    return ks.pack_nt(kc, cols, src, B.dtype, B.ld, dst);
  }
  if (B.dtype == DType::BF16)
    pack_b_n(static_cast<const uint16_t*>(B.base), B.ld, p0, kc, j0, cols, ks.nr, dst);
  else
    pack_b_n(static_cast<const float*>(B.base), B.ld, p0, kc, j0, cols, ks.nr, dst);
}

void scale_c(const GemmArgs& g) {
  float* c = static_cast<float*>(g.c);
  for (int64_t i = 0; i < g.m; ++i)
    for (int64_t j = 0; j < g.n; ++j) c[i * g.ldc + j] = g.beta == 0.f ? 0.f : g.beta * c[i * g.ldc + j];
}

void gemm_rows_nt(const GemmArgs& g, const GemmKernels& ks) {
  // x rows to f32 once (at most 8 rows), then stream w.
  const float* x = static_cast<const float*>(g.a);
  int64_t ldx = g.lda;
  float* xf = nullptr;
  if (g.a_dtype != DType::F32) {
    xf = tl_a.get(static_cast<size_t>(g.m * g.k));
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t p = 0; p < g.k; ++p) xf[i * g.k + p] = ld(g.a, g.a_dtype, i * g.lda + p);
    x = xf;
    ldx = g.k;
  }
  // One row: one contiguous part of w per thread (a single sequential stream each);
  // more rows: 64-row items, claimed as threads come free.
  const int64_t chunk = g.m == 1 ? std::max<int64_t>(64, (g.n + num_threads() - 1) / num_threads()) : 64;
  const int64_t items = (g.n + chunk - 1) / chunk;
  parallel_for(items, [&](int64_t it, int) {
    const int64_t j0 = it * chunk, j1 = std::min(g.n, j0 + chunk);
    ks.rows_nt(static_cast<int>(g.m), j0, j1, g.k, g.alpha, x, ldx, g.b, g.b_dtype, g.ldb, g.beta,
               static_cast<float*>(g.c), g.ldc);
  });
}

}  // namespace

PackedNT prepack_nt(const void* w, DType w_dtype, int64_t n, int64_t k, int64_t ldw) {
  const GemmKernels& ks = kernels();
  const int64_t NR = ks.nr;
  PackedNT p;
  p.n = n, p.k = k, p.nr = ks.nr;
  // Block jc (NC columns of B = rows of w) takes panels(jc)·NR·k floats; a full block exactly NC·k.
  const int64_t padded = (n / NC) * NC + ((n % NC) + NR - 1) / NR * NR;
  p.panels = empty({padded * k}, DType::F32, Device{});
  float* base = p.panels.ptr<float>();
  const Operand W{w, w_dtype, ldw, true};
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = std::min(NC, n - jc), panels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      float* block = base + jc * k + panels * NR * pc;
      parallel_for(panels, [&](int64_t jp, int) {
        pack_b_panel(ks, W, pc, kc, jc + jp * NR, std::min<int64_t>(NR, nc - jp * NR), block + jp * NR * kc);
      });
    }
  }
  return p;
}

void gemm(const GemmArgs& g, const PackedNT* packed) {
  TORL_CHECK(g.c_dtype == DType::F32, "gemm (cpu): the output must be f32, got ", dtype_name(g.c_dtype));
  TORL_CHECK(!packed || (g.trans_b && !g.trans_a && packed->n == g.n && packed->k == g.k && packed->nr == kernels().nr),
             "gemm (cpu): the packed B (", packed ? packed->n : 0, " x ", packed ? packed->k : 0,
             ") does not match this product (", g.n, " x ", g.k, ", x·wᵀ)");
  for (DType t : {g.a_dtype, g.b_dtype})
    TORL_CHECK(t == DType::F32 || t == DType::BF16, "gemm (cpu): inputs must be f32 or bf16, got ", dtype_name(t));
  if (g.m == 0 || g.n == 0) return;
  if (g.k == 0) return scale_c(g);
  const GemmKernels& ks = kernels();
  if (!packed && !g.trans_a && g.trans_b && g.m <= 8) return gemm_rows_nt(g, ks);

  const Operand A{g.a, g.a_dtype, g.lda, g.trans_a}, B{g.b, g.b_dtype, g.ldb, g.trans_b};
  const int MR = ks.mr, NR = ks.nr;
  float* C = static_cast<float*>(g.c);
  if (g.beta != 0.f && g.beta != 1.f) scale_c(g);
  const bool c_has_values = g.beta != 0.f;
  float* bpack = packed ? nullptr : tl_b.get(static_cast<size_t>(KC * NC));
  const int threads = num_threads();

  for (int64_t jc = 0; jc < g.n; jc += NC) {
    const int64_t nc = std::min(NC, g.n - jc);
    const int64_t panels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < g.k; pc += KC) {
      const int64_t kc = std::min(KC, g.k - pc);
      const bool accumulate = pc > 0 || c_has_values;
      const float* bblock = packed ? packed->panels.ptr<float>() + jc * g.k + panels * NR * pc : bpack;
      if (!packed)
        parallel_for(panels, [&](int64_t jp, int) {
          pack_b_panel(ks, B, pc, kc, jc + jp * NR, std::min<int64_t>(NR, nc - jp * NR), bpack + jp * NR * kc);
        });
      // Rows [i0, i0+mc) (one MC block) × B panels [jp0, jp1): pack A, then the tiles.
      auto block = [&](int64_t i0, int64_t mc, int64_t jp0, int64_t jp1) {
        float* apack = tl_a.get(static_cast<size_t>(MC * KC));
        pack_a(A, i0, mc, pc, kc, MR, g.alpha, apack);
        alignas(64) float edge[16 * 64];
        for (int64_t jp = jp0; jp < jp1; ++jp) {
          const int64_t j = jc + jp * NR, cols = std::min<int64_t>(NR, g.n - j);
          const float* bp = bblock + jp * NR * kc;
          for (int64_t ip = 0; ip < mc; ip += MR) {
            const int64_t rows = std::min<int64_t>(MR, mc - ip);
            float* cp = C + (i0 + ip) * g.ldc + j;
            if (rows == MR && cols == NR) {
              ks.tile(kc, apack + ip * kc, bp, cp, g.ldc, accumulate);
            } else if (cols == NR) {  // a short row tile (decode): only its rows are computed
              ks.tile_rows(static_cast<int>(rows), kc, apack + ip * kc, bp, cp, g.ldc, accumulate);
            } else {
              ks.tile_rows(static_cast<int>(rows), kc, apack + ip * kc, bp, edge, NR, false);
              for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c)
                  cp[r * g.ldc + c] = (accumulate ? cp[r * g.ldc + c] : 0.f) + edge[r * NR + c];
            }
          }
        }
      };
      // One equal share a thread (MR-row tiles, or B panels when m is short), so
      // every thread finishes together; the A rows of a share are packed by its thread.
      const int64_t tiles = (g.m + MR - 1) / MR;
      const bool by_rows = tiles >= 2 * threads;
      parallel_for(threads, [&](int64_t t, int) {
        int64_t r0 = 0, r1 = g.m, jp0 = 0, jp1 = panels;
        if (by_rows) {
          r0 = tiles * t / threads * MR;
          r1 = std::min(g.m, tiles * (t + 1) / threads * MR);
        } else {
          jp0 = panels * t / threads;
          jp1 = panels * (t + 1) / threads;
        }
        for (int64_t i0 = r0; i0 < r1 && jp0 < jp1; i0 += MC)
          block(i0, std::min(MC, r1 - i0), jp0, jp1);
      });
    }
  }
}

}  // namespace torl::cpu
