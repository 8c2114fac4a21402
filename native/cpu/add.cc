// add on the CPU: one pass over the elements, blocks spread over the pool.
// Each dtype mix is its own plain loop over typed pointers (f32 or bf16 bits),
// which GCC -O3 vectorises; the sum is formed in f32 and rounded once.
#include "torl/add.h"

#include <cstdint>

#include "f32.h"
#include "torl/registry.h"

namespace torl::cpu {

namespace {

constexpr int64_t kBlock = 1 << 15;  // elements per work item

inline float widen(float v) { return v; }
inline float widen(uint16_t v) { return bf16_to_f32(v); }
inline void narrow(float v, float* o) { *o = v; }
inline void narrow(float v, uint16_t* o) { *o = f32_to_bf16(v); }

// out[i] = a[i] + alpha·b[i]; out may be a itself (the in-place form).
template <typename A, typename B>
void add_loop(const A* a, const B* b, A* out, float alpha, int64_t n) {
  parallel_blocks(n, kBlock, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) narrow(widen(a[i]) + alpha * widen(b[i]), out + i);
  });
}

template <typename A>
void add_into(const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  const float al = static_cast<float>(alpha);
  if (b.dtype == DType::BF16) add_loop(a.ptr<A>(), b.ptr<uint16_t>(), out.ptr<A>(), al, a.numel());
  else add_loop(a.ptr<A>(), b.ptr<float>(), out.ptr<A>(), al, a.numel());
}

// out (a's dtype) = a + alpha·b.
void add_to(const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  if (a.dtype == DType::BF16) add_into<uint16_t>(a, b, out, alpha);
  else add_into<float>(a, b, out, alpha);
}

}  // namespace

static Tensor add_forward(const Tensor& a, const Tensor& b, double alpha) {
  Tensor out = empty(a.shape, a.dtype, Device{});
  add_to(a, b, out, alpha);
  return out;
}

static void add_inplace(const Tensor& dst, const Tensor& src, double alpha) { add_to(dst, src, dst, alpha); }

TORL_REGISTER_KERNEL(add_forward, CPU, add_forward);
TORL_REGISTER_KERNEL(add_inplace, CPU, add_inplace);

}  // namespace torl::cpu
