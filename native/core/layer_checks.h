// Argument checks shared by the transformer-layer ops (embedding, rmsnorm,
// rope, attention, swiglu). Every message names the op and the argument.
#pragma once
#include "torl/cuda.h"
#include "torl/error.h"
#include "torl/tensor.h"

namespace torl::checks {

// A live f32/bf16 tensor.
inline void floating(const Tensor& t, const char* op, const char* name) {
  TORL_CHECK(t.defined(), op, ": ", name, " has been disposed");
  TORL_CHECK(t.dtype == DType::F32 || t.dtype == DType::BF16, op, ": ", name, " must be f32 or bf16, got ",
             dtype_name(t.dtype));
}

// A live tensor of exactly this dtype.
inline void dtype_is(const Tensor& t, DType want, const char* op, const char* name) {
  TORL_CHECK(t.defined(), op, ": ", name, " has been disposed");
  TORL_CHECK(t.dtype == want, op, ": ", name, " must be ", dtype_name(want), ", got ", dtype_name(t.dtype));
}

inline void same_shape(const Tensor& a, const char* an, const Tensor& b, const char* bn, const char* op) {
  TORL_CHECK(a.shape == b.shape, op, ": ", bn, " must have ", an, "'s shape ", a.shape_str(), ", got ",
             b.shape_str());
}

inline void same_device(const Tensor& a, const char* an, const Tensor& b, const char* bn, const char* op) {
  TORL_CHECK(a.device() == b.device(), op, ": ", an, " is on ", a.device().str(), " but ", bn, " is on ",
             b.device().str());
}

// A CUDA tensor needs a usable GPU (throws naming why not).
inline void usable_device(const Tensor& t, const char* op) {
  if (t.device().is_cuda()) cuda::require(t.device(), op);
}

}  // namespace torl::checks
