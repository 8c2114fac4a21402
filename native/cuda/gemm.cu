// Our own GEMM kernels (the fallback behind cuBLASLt) and the dispatch.
//   gemm_bf16_wmma: block tile 128×128×32, 8 warps each 64×32 (4×2 WMMA
//     16×16×16 bf16 fragments, fp32 accumulators in registers); A and B tiles
//     staged through shared memory with any transpose resolved at load.
//   gemm_f32_simt: block tile 64×64×16, 256 threads each 4×4 outputs.
// Both bounds-check every load and store: any m, n, k, any leading dims.
#include <mma.h>

#include <cstdlib>
#include <cstring>

#include "common.cuh"
#include "cublaslt.cuh"
#include "gemm.cuh"

namespace torl::cuda {

namespace {

struct Args {
  bool ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  float alpha, beta;
  int64_t tile_y0;  // the row tile of blockIdx.y = 0: launches over m take at most MAX_GRID_Y row tiles each
};

// gridDim.y's limit: m beyond 65535 row tiles (8.4 M rows of 128) is covered by several launches.
constexpr int64_t MAX_GRID_Y = 65535;

// Element (row r, col c) of op(X).
template <typename T>
__device__ __forceinline__ float at(const T* x, bool trans, int64_t ld, int64_t r, int64_t c) {
  return to_f32(trans ? x[c * ld + r] : x[r * ld + c]);
}

template <typename T>
__device__ __forceinline__ void store_out(T* c, int64_t i, float v);
template <>
__device__ __forceinline__ void store_out<float>(float* c, int64_t i, float v) { c[i] = v; }
template <>
__device__ __forceinline__ void store_out<__nv_bfloat16>(__nv_bfloat16* c, int64_t i, float v) { c[i] = __float2bfloat16(v); }

template <typename TC>
__device__ __forceinline__ void epilogue(TC* C, const TC* bias, const Args& a, int64_t r, int64_t col, float acc) {
  if (r >= a.m || col >= a.n) return;
  float v = a.alpha * acc;
  if (a.beta != 0.f) v += a.beta * to_f32(C[r * a.ldc + col]);
  if (bias) v += to_f32(bias[col]);
  store_out(C, r * a.ldc + col, v);
}

constexpr int BM = 128, BN = 128, BK = 32, PAD = 8;

// C: [m, n] of TC;  A: op → [m, k] bf16;  B: op → [k, n] bf16;  bias: [n] of TC or null.
template <typename TC>
__global__ void __launch_bounds__(256) gemm_bf16_wmma(const __nv_bfloat16* __restrict__ A, const __nv_bfloat16* __restrict__ B,
                                                      TC* C, const TC* __restrict__ bias, Args a) {
  using namespace nvcuda;
  __shared__ __align__(32) __nv_bfloat16 As[BM][BK + PAD];
  __shared__ __align__(32) __nv_bfloat16 Bs[BK][BN + PAD];
  __shared__ __align__(32) float Cs[8][16][16];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / 4, wn = warp % 4;  // warp grid 2 × 4: 64 rows × 32 cols each
  const int64_t row0 = (a.tile_y0 + blockIdx.y) * BM, col0 = static_cast<int64_t>(blockIdx.x) * BN;
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4][2];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.f);
  const __nv_bfloat16 zero = __float2bfloat16(0.f);

  for (int64_t k0 = 0; k0 < a.k; k0 += BK) {
    for (int e = tid; e < BM * BK; e += 256) {  // A tile [BM, BK]
      const int r = e / BK, c = e % BK;
      const int64_t gr = row0 + r, gc = k0 + c;
      As[r][c] = (gr < a.m && gc < a.k) ? (a.ta ? A[gc * a.lda + gr] : A[gr * a.lda + gc]) : zero;
    }
    for (int e = tid; e < BK * BN; e += 256) {  // B tile [BK, BN]
      const int r = e / BN, c = e % BN;
      const int64_t gr = k0 + r, gc = col0 + c;
      Bs[r][c] = (gr < a.k && gc < a.n) ? (a.tb ? B[gc * a.ldb + gr] : B[gr * a.ldb + gc]) : zero;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa[4];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> fb[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(fa[i], &As[wm * 64 + i * 16][kk], BK + PAD);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], &Bs[kk][wn * 32 + j * 16], BN + PAD);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      wmma::store_matrix_sync(&Cs[warp][0][0], acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {
        const int r = e / 16, c = e % 16;
        epilogue(C, bias, a, row0 + wm * 64 + i * 16 + r, col0 + wn * 32 + j * 16 + c, Cs[warp][r][c]);
      }
      __syncwarp();
    }
}

// C: [m, n] of TC;  A: op → [m, k] f32;  B: op → [k, n] f32.
template <typename TC>
__global__ void __launch_bounds__(256) gemm_f32_simt(const float* __restrict__ A, const float* __restrict__ B, TC* C,
                                                     const TC* __restrict__ bias, Args a) {
  constexpr int TM = 64, TN = 64, TK = 16;
  __shared__ float As[TK][TM + 1];
  __shared__ float Bs[TK][TN + 1];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int64_t row0 = (a.tile_y0 + blockIdx.y) * TM, col0 = static_cast<int64_t>(blockIdx.x) * TN;
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < a.k; k0 += TK) {
    for (int e = threadIdx.x; e < TM * TK; e += 256) {
      const int r = e / TK, c = e % TK;
      const int64_t gr = row0 + r, gc = k0 + c;
      As[c][r] = (gr < a.m && gc < a.k) ? at(A, a.ta, a.lda, gr, gc) : 0.f;
    }
    for (int e = threadIdx.x; e < TK * TN; e += 256) {
      const int r = e / TN, c = e % TN;
      const int64_t gr = k0 + r, gc = col0 + c;
      Bs[r][c] = (gr < a.k && gc < a.n) ? at(B, a.tb, a.ldb, gr, gc) : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < TK; ++kk) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tx + 16 * j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) epilogue(C, bias, a, row0 + ty * 4 + i, col0 + tx + 16 * j, acc[i][j]);
}

template <typename TC>
void launch_own(const GemmArgs& g, const void* bias, cudaStream_t s) {
  Args a{g.trans_a, g.trans_b, g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.alpha, g.beta, 0};
  TC* C = static_cast<TC*>(g.c);
  const TC* b = static_cast<const TC*>(bias);
  const bool wmma = g.a_dtype == DType::BF16;
  const int64_t tm = wmma ? BM : 64, tn = wmma ? BN : 64, tiles_m = (g.m + tm - 1) / tm;
  for (a.tile_y0 = 0; a.tile_y0 < tiles_m; a.tile_y0 += MAX_GRID_Y) {
    const dim3 grid(static_cast<unsigned>((g.n + tn - 1) / tn), static_cast<unsigned>(std::min(MAX_GRID_Y, tiles_m - a.tile_y0)));
    if (wmma) {
      gemm_bf16_wmma<TC><<<grid, 256, 0, s>>>(static_cast<const __nv_bfloat16*>(g.a),
                                               static_cast<const __nv_bfloat16*>(g.b), C, b, a);
      TORL_CUDA_LAUNCHED("gemm_bf16_wmma");
    } else {
      gemm_f32_simt<TC><<<grid, 256, 0, s>>>(static_cast<const float*>(g.a), static_cast<const float*>(g.b), C, b, a);
      TORL_CUDA_LAUNCHED("gemm_f32_simt");
    }
  }
}

bool own_only() {
  static const bool v = [] {
    const char* e = std::getenv("TORL_CUDA_GEMM");
    return e && std::strcmp(e, "own") == 0;
  }();
  return v;
}

}  // namespace

void gemm(const GemmArgs& g, const void* bias, int device) {
  TORL_CHECK(g.a_dtype == g.b_dtype, "gemm (cuda): A and B must share a dtype, got ", dtype_name(g.a_dtype), " and ",
             dtype_name(g.b_dtype));
  for (DType t : {g.a_dtype, g.c_dtype})
    TORL_CHECK(t == DType::F32 || t == DType::BF16, "gemm (cuda): dtypes must be f32 or bf16, got ", dtype_name(t));
  TORL_CHECK(g.m < (int64_t(1) << 31) / 128 * 128 && g.n < (int64_t(1) << 31),
             "gemm (cuda): m and n must be below 2^31, got m=", g.m, " n=", g.n);
  if (g.m == 0 || g.n == 0) return;
  set_device(device);
  if (!own_only() && cublaslt_gemm(g, bias, device)) return;
  const cudaStream_t s = current_stream(device);
  if (g.c_dtype == DType::BF16) launch_own<__nv_bfloat16>(g, bias, s);
  else launch_own<float>(g, bias, s);
}

}  // namespace torl::cuda
