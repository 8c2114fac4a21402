#include "train_checks.h"

#include <sstream>

#include "torl/error.h"

namespace torl::tcheck {

void dtype_in(const Tensor& t, const char* op, const char* name, std::initializer_list<DType> allowed) {
  TORL_CHECK(t.defined(), op, ": ", name, " has been disposed");
  for (DType d : allowed)
    if (t.dtype == d) return;
  std::ostringstream names;
  const char* sep = "";
  for (DType d : allowed) {
    names << sep << dtype_name(d);
    sep = " or ";
  }
  fail(op, ": ", name, " must be ", names.str(), ", got ", dtype_name(t.dtype));
}

void vec(const Tensor& t, int64_t n, const char* op, const char* name, const char* n_name) {
  TORL_CHECK(t.ndim() == 1 && t.dim(0) == n, op, ": ", name, " must be [", n, "] (", n_name, "), got ",
             t.shape_str());
}

void same_device(const Tensor& a, const char* an, const Tensor& b, const char* bn, const char* op) {
  TORL_CHECK(a.device() == b.device(), op, ": ", an, " is on ", a.device().str(), " but ", bn, " is on ",
             b.device().str());
}

const int32_t* host_i32(const Tensor& t, Tensor& keep) {
  keep = t.device().is_cpu() ? t : to_device(t, Device{});
  return keep.ptr<int32_t>();
}

void cu_seqlens(const Tensor& cu, int64_t T, const char* op) {
  dtype_in(cu, op, "cuSeqlens", {DType::I32});
  TORL_CHECK(cu.ndim() == 1 && cu.dim(0) >= 2, op, ": cuSeqlens must be 1-D [S + 1] with S ≥ 1, got shape ",
             cu.shape_str());
  Tensor keep;
  const int32_t* c = host_i32(cu, keep);
  const int64_t n = cu.dim(0);
  TORL_CHECK(c[0] == 0, op, ": cuSeqlens[0] must be 0, got ", c[0]);
  for (int64_t i = 1; i < n; ++i)
    TORL_CHECK(c[i] >= c[i - 1], op, ": cuSeqlens must be non-decreasing, got cuSeqlens[", i, "] = ", c[i],
               " < cuSeqlens[", i - 1, "] = ", c[i - 1]);
  TORL_CHECK(c[n - 1] == T, op, ": cuSeqlens must end at T = ", T, ", got ", c[n - 1]);
}

}  // namespace torl::tcheck
