// Helpers for the CPU kernels of the layer ops: they compute in f32 and accept
// bf16 tensors by widening them once; row-parallel loops over the pool.
#pragma once
#include <algorithm>
#include <utility>

#include "torl/tensor.h"
#include "torl/threadpool.h"

namespace torl::cpu {

// t itself when it is f32, else an f32 copy.
inline Tensor as_f32(const Tensor& t) { return t.dtype == DType::F32 ? t : to_dtype(t, DType::F32); }

// A new host f32 tensor.
inline Tensor empty_f32(const Shape& s) { return empty(s, DType::F32, Device{}); }

// An f32 result in the dtype the op promises (no copy when that is f32).
inline Tensor cast_to(Tensor&& t, DType dtype) { return dtype == DType::F32 ? std::move(t) : to_dtype(t, dtype); }

// Runs fn(begin, end) over [0, n) in blocks of `block`, spread over the pool.
template <typename Fn>
void parallel_blocks(int64_t n, int64_t block, Fn&& fn) {
  if (n <= 0) return;
  parallel_for((n + block - 1) / block, [&](int64_t b, int) {
    const int64_t begin = b * block;
    fn(begin, std::min(n, begin + block));
  });
}

}  // namespace torl::cpu
