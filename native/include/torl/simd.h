// The SIMD level of this CPU, detected once at run time; kernels compiled for
// several levels pick theirs through it.
#pragma once

namespace torl {

enum class Simd { Scalar = 0, AVX2 = 1, AVX512 = 2 };

Simd simd_level();  // the best level this CPU supports (TORL_SIMD=scalar|avx2|avx512 caps it)
const char* simd_name(Simd s);

}  // namespace torl
