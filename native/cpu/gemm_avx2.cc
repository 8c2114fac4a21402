// GEMM micro-kernels for the avx2 level: a 6×16 register tile of 256-bit vectors.
#define TORL_VW 8
#define TORL_MR 6
#define TORL_NV 2
#define TORL_KERNELS gemm_kernels_avx2
#include "gemm_kernels.inc"
