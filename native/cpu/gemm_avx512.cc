// GEMM micro-kernels for the avx512 level: a 6×64 register tile of 512-bit vectors.
#define TORL_VW 16
#define TORL_MR 6
#define TORL_NV 4
#define TORL_KERNELS gemm_kernels_avx512
#include "gemm_kernels.inc"
