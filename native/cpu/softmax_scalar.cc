// Softmax row kernels for the scalar level: 128-bit vectors.
#define TORL_VW 4
#define TORL_KERNELS softmax_kernels_scalar
#include "softmax_kernels.inc"
