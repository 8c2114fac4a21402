// paged attention on the CPU: the driver, plus the two cache writers. It
// widens q to f32, cuts the work into items — (sequence, row tile, KV head),
// and for a decoding sequence (one row tile) with a long context also key
// partitions of kPart keys (flash-decoding: a batch of one still fills the
// pool) — runs them costliest first, then finishes each row: out = acc / l,
// or for partitioned rows the merge of the partials in partition order
// (m = max m_p, out = Σ 2^(m_p − m) acc_p / Σ 2^(m_p − m) l_p). The split
// depends only on the sequence's own lengths, never on the thread count or
// the rest of the batch. The per-item math is in paged_attention_kernels.inc.
#include "torl/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "f32.h"
#include "paged_attention_kernels.h"
#include "torl/error.h"
#include "torl/registry.h"
#include "torl/simd.h"

namespace torl::cpu {

namespace {

constexpr int64_t kPart = 512;  // keys per partition of a decoding row tile

const PagedKernels& kernels_for(int64_t Dh) {
  const Simd s = simd_level();
  if (s == Simd::AVX512 && Dh % 16 == 0) return paged_kernels_avx512();
  if (s >= Simd::AVX2) return paged_kernels_avx2();  // Dh is a multiple of 8
  return paged_kernels_scalar();
}

struct Work {
  PagedItem it;
  int64_t part;  // −1: finished in place; else the partial slot it fills
  int64_t cost;
};

// Rows of one (row tile, KV head) spread over partitions [first, first + n).
struct Merge {
  int64_t t0, nrows, g, first, n;
};

}  // namespace

static Tensor paged_attention_forward(const Tensor& q_in, const Tensor& k_cache, const Tensor& v_cache,
                                      const Tensor& block_tables, const Tensor& cu_seqlens_q,
                                      const Tensor& context_lens, double scale) {
  const int64_t T = q_in.dim(0), Hq = q_in.dim(1), Dh = q_in.dim(2);
  const int64_t Hkv = k_cache.dim(2), G = Hq / Hkv, B = block_tables.dim(0), MB = block_tables.dim(1);
  TORL_CHECK(Dh <= kPagedMaxDh, "pagedAttention: the CPU kernel takes head sizes up to ", kPagedMaxDh, ", got ", Dh);
  const Tensor q = as_f32(q_in);
  Tensor out = empty_f32({T, Hq, Dh});
  PagedProblem p;
  p.Hq = Hq, p.Hkv = Hkv, p.Dh = Dh, p.group = G, p.block_size = k_cache.dim(1);
  p.scale_log2 = static_cast<float>(scale * 1.4426950408889634);
  p.q = q.ptr<float>();
  p.k_cache = k_cache.data(), p.v_cache = v_cache.data(), p.bf16 = k_cache.dtype == DType::BF16;

  const int32_t* cu = cu_seqlens_q.ptr<int32_t>();
  const int32_t* cl = context_lens.ptr<int32_t>();
  const int64_t tile = std::max<int64_t>(1, kPagedRows / G);  // query rows per item
  const int64_t Rmax = tile * G;
  std::vector<Work> items;
  std::vector<Merge> merges;
  int64_t parts = 0;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = cu[b + 1] - cu[b];
    const int32_t* table = block_tables.ptr<int32_t>() + b * MB;
    for (int64_t i0 = 0; i0 < n; i0 += tile) {
      const int64_t nr = std::min(tile, n - i0), pos0 = cl[b] - n + i0, end = pos0 + nr;
      const int64_t split = n <= tile ? (end + kPart - 1) / kPart : 1;
      for (int64_t g = 0; g < Hkv; ++g) {
        const PagedItem it{table, cu[b] + i0, nr, pos0, g, 0, end};
        if (split == 1) {
          items.push_back({it, -1, nr * end});
          continue;
        }
        merges.push_back({it.t0, nr, g, parts, split});
        for (int64_t s = 0; s < split; ++s) {
          PagedItem pi = it;
          pi.s0 = s * kPart, pi.s1 = std::min(end, (s + 1) * kPart);
          items.push_back({pi, parts++, nr * (pi.s1 - pi.s0)});
        }
      }
    }
  }

  const int64_t slot_floats = Rmax * Dh + 2 * Rmax;  // acc, m, l
  std::vector<float> partial(static_cast<size_t>(parts * slot_floats));
  const int64_t ws_floats = slot_floats + paged_ws(Rmax);
  std::vector<float> ws(static_cast<size_t>(num_threads() * ws_floats));
  float* o = out.ptr<float>();
  // out row r of a tile: query row t0 + r / G, head g · G + r % G
  const auto out_row = [&](int64_t t0, int64_t g, int64_t r) { return o + ((t0 + r / G) * Hq + g * G + r % G) * Dh; };
  std::stable_sort(items.begin(), items.end(), [](const Work& a, const Work& b) { return a.cost > b.cost; });
  const PagedKernels& ks = kernels_for(Dh);
  parallel_for(static_cast<int64_t>(items.size()), [&](int64_t i, int thread) {
    const Work& w = items[i];
    const int64_t R = w.it.nrows * G;
    float* slot = w.part < 0 ? ws.data() + thread * ws_floats : partial.data() + w.part * slot_floats;
    float *acc = slot, *m = slot + Rmax * Dh, *l = m + Rmax;
    ks.rows(p, w.it, acc, m, l, ws.data() + thread * ws_floats + slot_floats);
    if (w.part >= 0) return;
    for (int64_t r = 0; r < R; ++r) {
      float* dst = out_row(w.it.t0, w.it.g, r);
      const float inv = l[r] > 0 ? 1.f / l[r] : 0.f;
      for (int64_t d = 0; d < Dh; ++d) dst[d] = acc[r * Dh + d] * inv;
    }
  });
  parallel_for(static_cast<int64_t>(merges.size()), [&](int64_t i, int) {
    const Merge& mg = merges[i];
    for (int64_t r = 0; r < mg.nrows * G; ++r) {
      float mx = -INFINITY;
      for (int64_t s = 0; s < mg.n; ++s) mx = std::max(mx, partial[(mg.first + s) * slot_floats + Rmax * Dh + r]);
      float* dst = out_row(mg.t0, mg.g, r);
      std::fill(dst, dst + Dh, 0.f);
      double total = 0;
      for (int64_t s = 0; s < mg.n; ++s) {
        const float* slot = partial.data() + (mg.first + s) * slot_floats;
        const float pm = slot[Rmax * Dh + r], pl = slot[Rmax * Dh + Rmax + r];
        if (pl == 0.f) continue;  // a partition this row sees nothing of
        const float w = std::exp2(pm - mx);
        total += static_cast<double>(w) * pl;
        for (int64_t d = 0; d < Dh; ++d) dst[d] += w * slot[r * Dh + d];
      }
      const float inv = total > 0 ? static_cast<float>(1.0 / total) : 0.f;
      for (int64_t d = 0; d < Dh; ++d) dst[d] *= inv;
    }
  });
  return cast_to(std::move(out), q_in.dtype);
}

// Copies n elements, converting between f32 and bf16 where the dtypes differ.
static void convert_row(const void* src, DType sd, void* dst, DType dd, int64_t n) {
  if (sd == dd) {
    std::memcpy(dst, src, static_cast<size_t>(n) * dtype_size(sd));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float x = sd == DType::F32 ? static_cast<const float*>(src)[i] : bf16_to_f32(static_cast<const uint16_t*>(src)[i]);
    if (dd == DType::F32) static_cast<float*>(dst)[i] = x;
    else static_cast<uint16_t*>(dst)[i] = f32_to_bf16(x);
  }
}

static void kv_cache_write(const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                           const Tensor& slot_mapping) {
  const int64_t T = k.dim(0), row = k.dim(1) * k.dim(2);
  const size_t src_row = static_cast<size_t>(row) * dtype_size(k.dtype);
  const size_t dst_row = static_cast<size_t>(row) * dtype_size(k_cache.dtype);
  const int32_t* s = slot_mapping.ptr<int32_t>();
  parallel_blocks(T, 16, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      if (s[t] < 0) continue;
      convert_row(static_cast<const uint8_t*>(k.data()) + t * src_row, k.dtype,
                  static_cast<uint8_t*>(k_cache.data()) + s[t] * dst_row, k_cache.dtype, row);
      convert_row(static_cast<const uint8_t*>(v.data()) + t * src_row, v.dtype,
                  static_cast<uint8_t*>(v_cache.data()) + s[t] * dst_row, v_cache.dtype, row);
    }
  });
}

static void kv_cache_copy(const Tensor& k_cache, const Tensor& v_cache, const Tensor& src, const Tensor& dst) {
  const size_t block = k_cache.nbytes() / static_cast<size_t>(k_cache.dim(0));
  const int32_t* s = src.ptr<int32_t>();
  const int32_t* d = dst.ptr<int32_t>();
  for (const Tensor* c : {&k_cache, &v_cache}) {
    uint8_t* base = static_cast<uint8_t*>(c->data());
    parallel_for(src.dim(0), [&](int64_t i, int) { std::memcpy(base + d[i] * block, base + s[i] * block, block); });
  }
}

TORL_REGISTER_KERNEL(paged_attention_forward, CPU, paged_attention_forward);
TORL_REGISTER_KERNEL(kv_cache_write, CPU, kv_cache_write);
TORL_REGISTER_KERNEL(kv_cache_copy, CPU, kv_cache_copy);

}  // namespace torl::cpu
