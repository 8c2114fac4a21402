// cuBLASLt, loaded at run time with dlopen and declared here by hand (the
// toolkit's headers are not needed to build, nor the library to run): the
// GEMM path of choice when the library is found, with one cached matmul plan
// (descriptors + heuristic algorithm) per shape.
#pragma once
#include <string>

#include "torl/gemm.h"

namespace torl::cuda {

struct CublasLt {
  bool loaded = false;
  std::string path;     // where it was loaded from
  std::string why_not;  // the places searched, when it was not found
};

// Loads once. TORL_CUBLASLT=off disables it; TORL_CUBLASLT=/path/libcublasLt.so.N picks one.
const CublasLt& cublaslt();

// C = alpha·op(A)·op(B) + beta·C (+ bias per column) on the device's stream.
// A and B share one dtype (f32 or bf16); C is f32 or bf16. Returns false when
// cuBLASLt is not loaded or has no algorithm for this problem (the caller
// then uses our own kernel).
bool cublaslt_gemm(const GemmArgs& g, const void* bias, int device);

}  // namespace torl::cuda
