// Attention tile kernels for the avx512 level: 6×64 register tiles of 512-bit vectors.
#define TORL_VW 16
#define TORL_MR 6
#define TORL_NV 4
#define TORL_KERNELS attn_kernels_avx512
#include "attention_kernels.inc"
