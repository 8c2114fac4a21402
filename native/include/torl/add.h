// add — elementwise sums of two tensors of one shape:
//   forward:  out = a + α·b           (a new tensor)
//   in place: dst += α·src            (gradient accumulation: no allocation)
// One pass; α·b is never materialised. f32 and bf16 operands in any mix are
// read as they are and summed in f32; the result takes a's (dst's) dtype.
// Tensors are flat and contiguous, so the shape only has to match.
#pragma once
#include "torl/tensor.h"

namespace torl {

// a, b: one shape, one device, f32/bf16; alpha finite.
void add_check(const Tensor& a, const Tensor& b, double alpha);
// dst, src likewise (dst is overwritten; src may be dst itself, but not a
// partial overlap of it).
void add_inplace_check(const Tensor& dst, const Tensor& src, double alpha);

Tensor add_forward(const Tensor& a, const Tensor& b, double alpha = 1.0);   // → a's shape and dtype
void add_inplace(const Tensor& dst, const Tensor& src, double alpha = 1.0);  // dst += alpha · src

// Kernel signatures (registry.h): arguments already validated, all on one device.
using add_forward_t = Tensor(const Tensor& a, const Tensor& b, double alpha);
using add_inplace_t = void(const Tensor& dst, const Tensor& src, double alpha);

}  // namespace torl
