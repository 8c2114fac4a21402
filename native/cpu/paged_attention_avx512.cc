// Paged attention rows for the avx512 level: 16-float vectors.
#define TORL_VW 16
#define TORL_KERNELS paged_kernels_avx512
#include "paged_attention_kernels.inc"
