// Argument checks shared by the training ops' dispatchers (lm_head, grpo,
// adamw, sample): each failure names the op and the argument.
#pragma once
#include <cstdint>
#include <initializer_list>

#include "torl/tensor.h"

namespace torl::tcheck {

// Defined (not disposed) and of one of the allowed element types.
void dtype_in(const Tensor& t, const char* op, const char* name, std::initializer_list<DType> allowed);
// 1-D of length n.
void vec(const Tensor& t, int64_t n, const char* op, const char* name, const char* n_name);
void same_device(const Tensor& a, const char* an, const Tensor& b, const char* bn, const char* op);
// A host copy of a small i32 tensor's values (for value checks on the JS thread).
const int32_t* host_i32(const Tensor& t, Tensor& keep);
// cu_seqlens [S + 1] i32: starts at 0, non-decreasing (empty sequences allowed), ends at T.
void cu_seqlens(const Tensor& cu, int64_t T, const char* op);

}  // namespace torl::tcheck
