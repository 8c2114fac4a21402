// Softmax row kernels for the avx2 level: 256-bit vectors.
#define TORL_VW 8
#define TORL_KERNELS softmax_kernels_avx2
#include "softmax_kernels.inc"
