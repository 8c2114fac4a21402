// Attention tile kernels for the scalar level: 4×8 register tiles of 128-bit vectors.
#define TORL_VW 4
#define TORL_MR 4
#define TORL_NV 2
#define TORL_KERNELS attn_kernels_scalar
#include "attention_kernels.inc"
