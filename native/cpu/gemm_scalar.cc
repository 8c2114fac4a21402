// GEMM micro-kernels for the scalar level: a 4×8 register tile of 128-bit vectors.
#define TORL_VW 4
#define TORL_MR 4
#define TORL_NV 2
#define TORL_KERNELS gemm_kernels_scalar
#include "gemm_kernels.inc"
