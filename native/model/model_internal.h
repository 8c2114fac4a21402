// Pieces shared by the model's source files (not part of its interface).
#pragma once
#include <algorithm>
#include <functional>
#include <initializer_list>

#include "qwen2.h"
#include "torl/attention.h"
#include "torl/gemm.h"

namespace torl::model {

// The same memory under another shape (same element count).
Tensor view(const Tensor& t, Shape shape);

// The attention of layer l over q [T, Hq, Dh] and k, v [T, Hkv, Dh] (after rope).
using Attend = std::function<AttentionOut(int64_t l, const Tensor& q, const Tensor& k, const Tensor& v)>;

// One micro-batch on the model's device: whole sequences [seq0, seq1) of the
// batch, tokens [t0, t0 + T). `attend` null: causal attention over the packed
// sequences of `cu` (training); else that (the engine's paged attention).
struct Qwen2::Micro {
  int64_t seq0 = 0, seq1 = 0, t0 = 0, T = 0;
  Tensor tokens, positions, targets;  // [T] i32
  Tensor cu;                          // [seq1 − seq0 + 1] i32, from 0
  const Attend* attend = nullptr;
  // CPU: weights packed for the GEMM by name (the engine's steps); null: packed per call.
  const std::map<std::string, PackedNT>* packed = nullptr;
};

inline int64_t bytes_of(std::initializer_list<const Tensor*> ts) {
  int64_t n = 0;
  for (const Tensor* t : ts)
    if (t->defined()) n += static_cast<int64_t>(t->nbytes());
  return n;
}

// What one forward keeps for backward.
struct Qwen2::LayerActs {
  Tensor x, y1, rstd1;         // stream in [T, D], its norm, 1/rms
  Tensor q, k, v, att, lse;    // after rope: q [T, Hq, Dh], k, v [T, Hkv, Dh]; att [T, Hq, Dh]; lse [Hq, T]
  Tensor xmid, y2, rstd2;      // stream after attention, its norm, 1/rms
  Tensor g, u, m;              // gate, up [T, I], silu(g)·u
  int64_t bytes() const {
    return bytes_of({&x, &y1, &rstd1, &q, &k, &v, &att, &lse, &xmid, &y2, &rstd2, &g, &u, &m});
  }
  void keep_input_only() { *this = LayerActs{x, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}}; }
};

struct Qwen2::Forward {
  std::vector<LayerActs> acts;
  Tensor xf, yf, rstdf;  // the final stream, its norm (the head's input), 1/rms
  int64_t peak_bytes = 0;
  void note_bytes() {
    int64_t n = bytes_of({&xf, &yf, &rstdf});
    for (const LayerActs& a : acts) n += a.bytes();
    peak_bytes = std::max(peak_bytes, n);
  }
};

}  // namespace torl::model
