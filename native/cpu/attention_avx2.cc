// Attention tile kernels for the avx2 level: 6×16 register tiles of 256-bit vectors.
#define TORL_VW 8
#define TORL_MR 6
#define TORL_NV 2
#define TORL_KERNELS attn_kernels_avx2
#include "attention_kernels.inc"
