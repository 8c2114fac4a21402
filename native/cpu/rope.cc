// rope on the CPU. cos/sin come from a per-call table: one row per distinct
// position when the positions are small (packed training batches: 0 … len−1),
// else one row per token (decode at large positions); angles in f64, stored
// f32. The rotation then reads each element once and writes it once, in f32
// or straight in bf16.
#include "torl/rope.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "f32.h"
#include "torl/registry.h"

namespace torl::cpu {

namespace {

inline float load(const float* p) { return *p; }
inline float load(const uint16_t* p) { return bf16_to_f32(*p); }
inline void store(float* p, float v) { *p = v; }
inline void store(uint16_t* p, float v) { *p = f32_to_bf16(v); }

// cos and sin of pos · theta^(−2i/Dh) for i < Dh/2; `sign` −1 gives the inverse rotation.
struct Table {
  std::vector<float> cos, sin;
  int64_t half = 0;
  bool by_position = false;  // rows are positions (else tokens)
  int64_t row(const int32_t* pos, int64_t t) const { return by_position ? pos[t] : t; }
};

Table make_table(const int32_t* pos, int64_t T, int64_t Dh, double theta, int sign) {
  Table tab;
  tab.half = Dh / 2;
  const int64_t max_pos = T ? *std::max_element(pos, pos + T) : 0;
  tab.by_position = max_pos < 2 * T;
  const int64_t rows = tab.by_position ? max_pos + 1 : T;
  tab.cos.resize(static_cast<size_t>(rows * tab.half));
  tab.sin.resize(tab.cos.size());
  std::vector<double> inv_freq(static_cast<size_t>(tab.half));
  for (int64_t i = 0; i < tab.half; ++i)
    inv_freq[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(Dh));
  parallel_blocks(rows, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const double p = tab.by_position ? static_cast<double>(r) : static_cast<double>(pos[r]);
      for (int64_t i = 0; i < tab.half; ++i) {
        const double a = p * inv_freq[i];
        tab.cos[r * tab.half + i] = static_cast<float>(std::cos(a));
        tab.sin[r * tab.half + i] = static_cast<float>(sign * std::sin(a));
      }
    }
  });
  return tab;
}

// out[t, h] = rotate(in[t, h]) for every token and head; in may equal out.
template <typename E>
void rotate(const Tensor& in, const Tensor& out, const int32_t* pos, const Table& tab) {
  const int64_t T = in.dim(0), H = in.dim(1), Dh = in.dim(2), half = tab.half;
  const E* src = in.ptr<E>();
  E* dst = out.ptr<E>();
  parallel_blocks(T, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* c = tab.cos.data() + tab.row(pos, t) * half;
      const float* s = tab.sin.data() + tab.row(pos, t) * half;
      for (int64_t h = 0; h < H; ++h) {
        const E* x = src + (t * H + h) * Dh;
        E* y = dst + (t * H + h) * Dh;
        for (int64_t i = 0; i < half; ++i) {
          const float a = load(x + i), b = load(x + i + half);
          store(y + i, a * c[i] - b * s[i]);
          store(y + i + half, b * c[i] + a * s[i]);
        }
      }
    }
  });
}

Tensor rotated(const Tensor& x, const int32_t* pos, const Table& tab, bool in_place) {
  const Tensor out = in_place ? x : empty(x.shape, x.dtype, Device{});
  if (x.dtype == DType::BF16)
    rotate<uint16_t>(x, out, pos, tab);
  else
    rotate<float>(x, out, pos, tab);
  return out;
}

RopeOut apply(const Tensor& q, const Tensor& k, const Tensor& positions, double theta, bool in_place, int sign) {
  const int32_t* pos = positions.ptr<int32_t>();
  const Table tab = make_table(pos, q.dim(0), q.dim(2), theta, sign);
  return RopeOut{rotated(q, pos, tab, in_place), rotated(k, pos, tab, in_place)};
}

}  // namespace

static RopeOut rope_forward(const Tensor& q, const Tensor& k, const Tensor& positions, double theta, bool in_place) {
  return apply(q, k, positions, theta, in_place, +1);
}

static RopeOut rope_backward(const Tensor& dq, const Tensor& dk, const Tensor& positions, double theta,
                             bool in_place) {
  return apply(dq, dk, positions, theta, in_place, -1);
}

TORL_REGISTER_KERNEL(rope_forward, CPU, rope_forward);
TORL_REGISTER_KERNEL(rope_backward, CPU, rope_backward);

}  // namespace torl::cpu
