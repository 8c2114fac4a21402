// adamw — the optimizer step over a whole list of tensors in one call (one
// parallel region over fixed-size blocks of every tensor), and the global
// gradient norm / clipping by it. All updates are in place.
//
// AdamW as torch.optim.AdamW (decoupled weight decay, bias correction):
//   p ← p · (1 − lr · wd)
//   m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
//   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
// fp32 master weights: when params are bf16, `master` holds an f32 copy of each
// (same shapes); the step updates master and then writes bf16(master) (round
// to nearest even) into params, so no precision is lost between steps. When
// params are f32, master must be empty and params are updated directly.
// grads may be f32 or bf16; m and v are f32.
#pragma once
#include <vector>

#include "torl/tensor.h"

namespace torl {

struct AdamWOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  int64_t step = 0;  // the step being taken, 1-based (bias correction uses it)
};

void adamw_check(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& m,
                 const std::vector<Tensor>& v, const std::vector<Tensor>& master, const AdamWOptions& o);
void adamw_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& m,
                const std::vector<Tensor>& v, const std::vector<Tensor>& master, const AdamWOptions& o);

// ‖(g_1, …, g_n)‖₂ over every element of every tensor (f32|bf16), accumulated in f64.
void grad_norm_check(const std::vector<Tensor>& grads, const char* op);
double grad_norm(const std::vector<Tensor>& grads);

// torch.nn.utils.clip_grad_norm_: when the norm exceeds max_norm, every grad
// is scaled by max_norm / (norm + 1e-6). A non-finite norm scales nothing (the
// caller should skip the step). Returns the norm before clipping.
void clip_grad_norm_check(const std::vector<Tensor>& grads, double max_norm);
double clip_grad_norm(const std::vector<Tensor>& grads, double max_norm);

using adamw_step_t = void(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                          const std::vector<Tensor>& m, const std::vector<Tensor>& v,
                          const std::vector<Tensor>& master, const AdamWOptions& o);
using grad_norm_t = double(const std::vector<Tensor>& grads);
// Multiplies every grad by `scale`.
using scale_grads_t = void(const std::vector<Tensor>& grads, double scale);

}  // namespace torl
