// linear — nn.Linear on any backend:
//   forward:  y[N, M] = x[N, K] · w[M, K]ᵀ + b[M]
//   backward: dx[N, K] = dy · w,  dw[M, K] = dyᵀ · x,  db[M] = Σ_n dy[n, :]
// y and dx take x's dtype; dw and db are f32 (gradients accumulate in f32).
#pragma once
#include "torl/tensor.h"

namespace torl {

// Validate shapes/dtypes/devices, naming the argument at fault (bindings call
// these on the JS thread so bad input throws before any async work starts).
void linear_check(const Tensor& x, const Tensor& w, const Tensor* bias);
void linear_backward_check(const Tensor& dy, const Tensor& x, const Tensor& w);

// Check, then dispatch to the tensors' backend.
Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor* bias);

struct LinearGrads {
  Tensor dx, dw, db;  // db undefined unless requested
};
LinearGrads linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool with_bias);

struct PackedNT;
namespace cpu {
// linear_forward on the CPU with w also given packed (gemm.h's prepack_nt; null: packed per call).
// Host tensors, already checked (linear_check).
Tensor linear_forward_packed(const Tensor& x, const Tensor& w, const PackedNT* packed, const Tensor* bias);
}  // namespace cpu

// Kernel signatures (registry.h): arguments already validated, all on one device.
using linear_forward_t = Tensor(const Tensor& x, const Tensor& w, const Tensor* bias);
using linear_backward_t = LinearGrads(const Tensor& dy, const Tensor& x, const Tensor& w, bool with_bias);

}  // namespace torl
