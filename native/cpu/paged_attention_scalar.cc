// Paged attention rows for the scalar level: 4-float vectors.
#define TORL_VW 4
#define TORL_KERNELS paged_kernels_scalar
#include "paged_attention_kernels.inc"
