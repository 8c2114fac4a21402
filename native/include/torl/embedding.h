// embedding — token ids to vectors:
//   forward:  y[T, D] = w[ids[t], :]                         (a row gather)
//   backward: dw[V, D] = Σ_{t : ids[t] = v} dy[t, :]          (a scatter-add)
// Duplicate ids accumulate. The backward is deterministic (no atomics: the
// CPU splits the work over columns of D, each thread adding rows in token
// order). Never materialises a one-hot [T, V] matrix.
// y takes w's dtype; dw is f32 (gradients accumulate in f32).
#pragma once
#include "torl/tensor.h"

namespace torl {

// ids: [T] i32, every value in [0, V); w: [V, D] f32/bf16.
void embedding_check(const Tensor& ids, const Tensor& w);
// dy: [T, D] f32/bf16, ids: [T] i32 in [0, vocab).
void embedding_backward_check(const Tensor& dy, const Tensor& ids, int64_t vocab);

Tensor embedding_forward(const Tensor& ids, const Tensor& w);                      // → [T, D]
Tensor embedding_backward(const Tensor& dy, const Tensor& ids, int64_t vocab);     // → [V, D] f32

using embedding_forward_t = Tensor(const Tensor& ids, const Tensor& w);
using embedding_backward_t = Tensor(const Tensor& dy, const Tensor& ids, int64_t vocab);

}  // namespace torl
