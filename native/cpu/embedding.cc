// embedding on the CPU: a row gather (plain byte copies, any dtype) and a
// deterministic scatter-add: threads own disjoint column blocks of dw and add
// tokens in order, so no two threads touch one element and the sums are the
// same on every run.
#include "torl/embedding.h"

#include <cstring>

#include "f32.h"
#include "torl/registry.h"

namespace torl::cpu {

static Tensor embedding_forward(const Tensor& ids, const Tensor& w) {
  const int64_t T = ids.dim(0), D = w.dim(1);
  Tensor y = empty({T, D}, w.dtype, Device{});
  const size_t row = static_cast<size_t>(D) * dtype_size(w.dtype);
  const int32_t* id = ids.ptr<int32_t>();
  const char* src = static_cast<const char*>(w.data());
  char* dst = static_cast<char*>(y.data());
  parallel_blocks(T, 64, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) std::memcpy(dst + t * row, src + id[t] * row, row);
  });
  return y;
}

static Tensor embedding_backward(const Tensor& dy_in, const Tensor& ids, int64_t vocab) {
  const Tensor dy = as_f32(dy_in);
  const int64_t T = ids.dim(0), D = dy.dim(1);
  Tensor dw = empty_f32({vocab, D});
  float* out = dw.ptr<float>();
  parallel_blocks(vocab * D, int64_t{1} << 16, [&](int64_t a, int64_t b) {
    std::memset(out + a, 0, static_cast<size_t>(b - a) * sizeof(float));
  });
  const int32_t* id = ids.ptr<int32_t>();
  const float* g = dy.ptr<float>();
  parallel_blocks(D, 64, [&](int64_t d0, int64_t d1) {
    for (int64_t t = 0; t < T; ++t) {
      float* o = out + id[t] * D;
      const float* s = g + t * D;
      for (int64_t d = d0; d < d1; ++d) o[d] += s[d];
    }
  });
  return dw;
}

TORL_REGISTER_KERNEL(embedding_forward, CPU, embedding_forward);
TORL_REGISTER_KERNEL(embedding_backward, CPU, embedding_backward);

}  // namespace torl::cpu
