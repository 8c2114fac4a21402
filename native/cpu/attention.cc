// attention on the CPU: the driver. It widens inputs to f32, makes the
// transposed k/v copies the tile products read, spreads the work items over
// the pool (longest first) and hands each thread its workspace; the tile
// math is in attention_kernels.inc.
//   forward:  one item per (sequence, query head, query tile)
//   backward: one item per (sequence, KV head, group of its query heads): it
//             owns those heads' dq rows outright and sums their dk/dv in its
//             own buffers, so nothing races. The query heads of a KV head are
//             split into groups only when there are too few items to keep
//             every thread busy; the groups' partial dk/dv are then summed
//             after, in group order (deterministic).
#include "torl/attention.h"

#include <algorithm>
#include <vector>

#include "attention_kernels.h"
#include "f32.h"
#include "torl/registry.h"
#include "torl/simd.h"

namespace torl::cpu {

namespace {

const AttnKernels& kernels_for(int64_t Dh) {
  const Simd s = simd_level();
  if (s == Simd::AVX512 && Dh % 16 == 0) return attn_kernels_avx512();
  if (s >= Simd::AVX2) return attn_kernels_avx2();  // Dh is a multiple of 8
  return attn_kernels_scalar();
}

// x [T, H, Dh] → [H][Dh][ldt], columns past T zero.
Tensor transposed(const Tensor& x, int64_t ldt) {
  const int64_t T = x.dim(0), H = x.dim(1), Dh = x.dim(2);
  Tensor out = empty_f32({H, Dh, ldt});
  const float* src = x.ptr<float>();
  float* dst = out.ptr<float>();
  parallel_for(H * Dh, [&](int64_t hd, int) {
    const int64_t h = hd / Dh, d = hd % Dh;
    float* row = dst + hd * ldt;
    for (int64_t t = 0; t < T; ++t) row[t] = src[(t * H + h) * Dh + d];
    std::fill(row + T, row + ldt, 0.f);
  });
  return out;
}

// Row stride of the transposed copies: room for a full vector past T, and not
// a multiple of 4 KiB (which would alias rows in the L1 cache).
int64_t transposed_stride(int64_t T) {
  int64_t ld = (T + 16 + 15) / 16 * 16;
  if (ld % 1024 == 0) ld += 16;
  return ld;
}

// Forward: rows [i0, i1) of query head h in the sequence starting at s0.
struct FwdItem {
  int64_t cost, s0, i0, i1, h;
};
// Backward: the sequence [s0, s1) for query heads [h0, h0 + nh), dk/dv into `slot`.
struct BwdItem {
  int64_t cost, s0, s1, h0, nh, slot;
};

// Runs fn(item, workspace) for every item, costliest first.
template <typename Item, typename Fn>
void run_items(std::vector<Item>& items, int64_t ws_floats, Fn&& fn) {
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.cost > b.cost; });
  std::vector<float> ws(static_cast<size_t>(num_threads() * ws_floats));
  parallel_for(static_cast<int64_t>(items.size()),
               [&](int64_t i, int thread) { fn(items[i], ws.data() + thread * ws_floats); });
}

struct Inputs {
  Tensor q, k, v, kt;
  AttnProblem p;
};

Inputs prepare(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  Inputs in{as_f32(q), as_f32(k), as_f32(v), Tensor{}, AttnProblem{}};
  const int64_t T = q.dim(0), Hq = q.dim(1), Dh = q.dim(2), Hkv = k.dim(1);
  AttnProblem& p = in.p;
  p.T = T, p.Dh = Dh, p.group = Hq / Hkv, p.scale = static_cast<float>(scale);
  p.q = in.q.ptr<float>(), p.ldq = Hq * Dh;
  p.k = in.k.ptr<float>(), p.v = in.v.ptr<float>(), p.ldk = Hkv * Dh;
  p.ldt = transposed_stride(T);
  in.kt = transposed(in.k, p.ldt);
  p.kt = in.kt.ptr<float>();
  return in;
}

}  // namespace

static AttentionOut attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens,
                                      double scale) {
  const int64_t T = q.dim(0), Hq = q.dim(1), Dh = q.dim(2);
  Inputs in = prepare(q, k, v, scale);
  Tensor out = empty_f32({T, Hq, Dh});
  AttentionOut res;
  res.lse = empty_f32({Hq, T});
  in.p.out = out.ptr<float>();
  in.p.lse = res.lse.ptr<float>();
  const int32_t* cu = cu_seqlens.ptr<int32_t>();
  std::vector<FwdItem> items;
  for (int64_t b = 0; b + 1 < cu_seqlens.dim(0); ++b)
    for (int64_t i0 = cu[b]; i0 < cu[b + 1]; i0 += kAttnTile) {
      const int64_t i1 = std::min<int64_t>(cu[b + 1], i0 + kAttnTile);
      for (int64_t h = 0; h < Hq; ++h) items.push_back({(i1 - i0) * (i1 - cu[b]), cu[b], i0, i1, h});
    }
  const AttnKernels& ks = kernels_for(Dh);
  run_items(items, attn_forward_ws(Dh), [&](const FwdItem& it, float* ws) {
    ks.forward(in.p, it.s0, it.i0, it.i1, it.h, ws);
  });
  res.out = cast_to(std::move(out), q.dtype);
  return res;
}

static AttentionGrads attention_backward(const Tensor& dout_in, const Tensor& q, const Tensor& k, const Tensor& v,
                                         const Tensor& out_in, const Tensor& lse, const Tensor& cu_seqlens,
                                         double scale) {
  const int64_t T = q.dim(0), Hq = q.dim(1), Dh = q.dim(2), Hkv = k.dim(1);
  Inputs in = prepare(q, k, v, scale);
  AttnProblem& p = in.p;
  const Tensor vt = transposed(in.v, p.ldt);
  const Tensor dout = as_f32(dout_in), out = as_f32(out_in);
  p.vt = vt.ptr<float>();
  p.dout = dout.ptr<float>();
  p.lse = lse.ptr<float>();

  // delta[h, t] = Σ_d dout[t, h, d] · out[t, h, d]
  Tensor delta = empty_f32({Hq, T});
  {
    const float* a = dout.ptr<float>();
    const float* o = out.ptr<float>();
    float* dl = delta.ptr<float>();
    parallel_blocks(T, 64, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t h = 0; h < Hq; ++h) {
          const float* x = a + (t * Hq + h) * Dh;
          const float* y = o + (t * Hq + h) * Dh;
          float s = 0.f;
          for (int64_t d = 0; d < Dh; ++d) s += x[d] * y[d];
          dl[h * T + t] = s;
        }
    });
  }
  p.delta = delta.ptr<float>();

  const int32_t* cu = cu_seqlens.ptr<int32_t>();
  int64_t seqs = 0;
  for (int64_t b = 0; b + 1 < cu_seqlens.dim(0); ++b) seqs += cu[b + 1] > cu[b];
  // The fewest groups per KV head (a divisor of the group size) that give two items per thread.
  const int64_t G = p.group;
  int64_t parts = 1;
  for (int64_t d = 1; d <= G; ++d)
    if (G % d == 0) {
      parts = d;
      if (seqs * Hkv * d >= 2 * num_threads()) break;
    }
  Tensor dq = empty_f32({T, Hq, Dh});
  Tensor dk = empty_f32({T, Hkv, Dh}), dv = empty_f32({T, Hkv, Dh});
  Tensor dk_part = parts > 1 ? empty_f32({Hkv * parts, T, Dh}) : Tensor{};
  Tensor dv_part = parts > 1 ? empty_f32({Hkv * parts, T, Dh}) : Tensor{};
  p.dq = dq.ptr<float>();
  p.dk = parts > 1 ? dk_part.ptr<float>() : dk.ptr<float>();
  p.dv = parts > 1 ? dv_part.ptr<float>() : dv.ptr<float>();
  p.ld_dkv = parts > 1 ? Dh : Hkv * Dh;
  p.hs_dkv = parts > 1 ? T * Dh : Dh;

  std::vector<BwdItem> items;
  const int64_t nh = G / parts;
  for (int64_t b = 0; b + 1 < cu_seqlens.dim(0); ++b) {
    const int64_t len = cu[b + 1] - cu[b];
    if (len > 0)
      for (int64_t slot = 0; slot < Hkv * parts; ++slot)
        items.push_back({len * len * nh, cu[b], cu[b + 1], slot * nh, nh, slot});
  }
  const AttnKernels& ks = kernels_for(Dh);
  run_items(items, attn_backward_ws(Dh), [&](const BwdItem& it, float* ws) {
    ks.backward(p, it.s0, it.s1, it.h0, it.nh, it.slot, ws);
  });

  if (parts > 1) {
    const float* pk = dk_part.ptr<float>();
    const float* pv = dv_part.ptr<float>();
    float* ok = dk.ptr<float>();
    float* ov = dv.ptr<float>();
    parallel_blocks(T, 64, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        for (int64_t hk = 0; hk < Hkv; ++hk) {
          float* dst_k = ok + (t * Hkv + hk) * Dh;
          float* dst_v = ov + (t * Hkv + hk) * Dh;
          std::fill(dst_k, dst_k + Dh, 0.f);
          std::fill(dst_v, dst_v + Dh, 0.f);
          for (int64_t slot = hk * parts; slot < (hk + 1) * parts; ++slot)
            for (int64_t d = 0; d < Dh; ++d) {
              dst_k[d] += pk[(slot * T + t) * Dh + d];
              dst_v[d] += pv[(slot * T + t) * Dh + d];
            }
        }
    });
  }
  AttentionGrads g;
  g.dq = cast_to(std::move(dq), q.dtype);
  g.dk = cast_to(std::move(dk), q.dtype);
  g.dv = cast_to(std::move(dv), q.dtype);
  return g;
}

TORL_REGISTER_KERNEL(attention_forward, CPU, attention_forward);
TORL_REGISTER_KERNEL(attention_backward, CPU, attention_backward);

}  // namespace torl::cpu
