// Picks the softmax row kernels for the running CPU.
#include "softmax_kernels.h"
#include "torl/simd.h"

namespace torl::cpu {

const SoftmaxKernels& softmax_kernels() {
  switch (simd_level()) {
    case Simd::AVX512: return softmax_kernels_avx512();
    case Simd::AVX2: return softmax_kernels_avx2();
    default: return softmax_kernels_scalar();
  }
}

}  // namespace torl::cpu
