// Paged attention rows for the avx2 level: 8-float vectors.
#define TORL_VW 8
#define TORL_KERNELS paged_kernels_avx2
#include "paged_attention_kernels.inc"
