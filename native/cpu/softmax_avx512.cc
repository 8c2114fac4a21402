// Softmax row kernels for the avx512 level: 512-bit vectors.
#define TORL_VW 16
#define TORL_KERNELS softmax_kernels_avx512
#include "softmax_kernels.inc"
