// rope — rotary position embedding, the Qwen2 / HF "rotate_half" convention:
//   inv_freq[i] = theta^(−2i/Dh),  a = pos[t] · inv_freq[i],  i < Dh/2
//   out[i]        = x[i] · cos a − x[i + Dh/2] · sin a
//   out[i + Dh/2] = x[i + Dh/2] · cos a + x[i] · sin a
// applied to every head of q [T, Hq, Dh] and k [T, Hkv, Dh], one position
// per token (packed sequences restart at 0). The backward is the inverse
// rotation (angle −a) of dq and dk. cos/sin are computed once per call (angles
// in f64, rounded to f32) for the distinct positions — never per element.
// In place overwrites q and k (dq and dk) and returns them; otherwise the
// results are new tensors of the inputs' dtypes.
#pragma once
#include "torl/tensor.h"

namespace torl {

// q: [T, Hq, Dh], k: [T, Hkv, Dh] (f32/bf16, Dh even), positions: [T] i32 ≥ 0,
// theta > 0. `op` names the op in messages (rope / ropeBackward).
void rope_check(const Tensor& q, const Tensor& k, const Tensor& positions, double theta, const char* op);

struct RopeOut {
  Tensor q;  // [T, Hq, Dh]
  Tensor k;  // [T, Hkv, Dh]
};
RopeOut rope_forward(const Tensor& q, const Tensor& k, const Tensor& positions, double theta, bool in_place);
// dq, dk: gradients of rope's outputs → gradients of its inputs.
RopeOut rope_backward(const Tensor& dq, const Tensor& dk, const Tensor& positions, double theta, bool in_place);

using rope_forward_t = RopeOut(const Tensor& q, const Tensor& k, const Tensor& positions, double theta,
                               bool in_place);
using rope_backward_t = RopeOut(const Tensor& dq, const Tensor& dk, const Tensor& positions, double theta,
                                bool in_place);

}  // namespace torl
