// paged_attention, kv_cache_write, kv_cache_copy: argument validation and
// backend dispatch. Index tensors are checked value by value when they are on
// the host (the engine builds them there; the model step checks them before
// it uploads them to a GPU).
#include "torl/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <utility>
#include <vector>

#include "layer_checks.h"
#include "torl/registry.h"

namespace torl {

namespace {

// k_cache, v_cache: [num_blocks, block_size, Hkv, Dh], one shape and dtype.
void check_cache(const Tensor& k_cache, const Tensor& v_cache, const char* op) {
  checks::floating(k_cache, op, "kCache");
  checks::floating(v_cache, op, "vCache");
  TORL_CHECK(k_cache.ndim() == 4, op, ": kCache must be 4-D [numBlocks, blockSize, Hkv, Dh], got shape ",
             k_cache.shape_str());
  checks::same_shape(k_cache, "kCache", v_cache, "vCache", op);
  TORL_CHECK(v_cache.dtype == k_cache.dtype, op, ": kCache and vCache must share one dtype, got ",
             dtype_name(k_cache.dtype), " and ", dtype_name(v_cache.dtype));
  TORL_CHECK(k_cache.dim(0) > 0 && k_cache.dim(1) > 0 && k_cache.dim(2) > 0 && k_cache.dim(3) > 0, op,
             ": kCache must have positive extents, got shape ", k_cache.shape_str());
  checks::same_device(k_cache, "kCache", v_cache, "vCache", op);
}

void check_i32_1d(const Tensor& t, const char* op, const char* name) {
  checks::dtype_is(t, DType::I32, op, name);
  TORL_CHECK(t.ndim() == 1, op, ": ", name, " must be 1-D, got shape ", t.shape_str());
}

}  // namespace

void paged_attention_check(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, const Tensor& block_tables,
                           const Tensor& cu_seqlens_q, const Tensor& context_lens, double scale) {
  const char* op = "pagedAttention";
  checks::floating(q, op, "q");
  TORL_CHECK(q.ndim() == 3, op, ": q must be 3-D [T, Hq, Dh], got shape ", q.shape_str());
  check_cache(k_cache, v_cache, op);
  const int64_t T = q.dim(0), Hq = q.dim(1), Dh = q.dim(2);
  const int64_t NB = k_cache.dim(0), BS = k_cache.dim(1), Hkv = k_cache.dim(2);
  TORL_CHECK(k_cache.dim(3) == Dh, op, ": kCache's head dimension (", k_cache.dim(3), ") must equal q's (", Dh, ")");
  TORL_CHECK(Dh % 8 == 0, op, ": the head dimension Dh of q must be a positive multiple of 8, got ", Dh);
  TORL_CHECK(Hq % Hkv == 0, op, ": the KV heads of the cache (", Hkv, ") must divide the query heads of q (", Hq, ")");
  TORL_CHECK(k_cache.dtype == q.dtype, op, ": the cache must have q's dtype (", dtype_name(q.dtype), "), got ",
             dtype_name(k_cache.dtype));
  TORL_CHECK(scale > 0 && std::isfinite(scale), op, ": option scale must be > 0, got ", scale);
  checks::dtype_is(block_tables, DType::I32, op, "blockTables");
  TORL_CHECK(block_tables.ndim() == 2, op, ": blockTables must be 2-D [B, maxBlocks], got shape ",
             block_tables.shape_str());
  check_i32_1d(cu_seqlens_q, op, "cuSeqlensQ");
  check_i32_1d(context_lens, op, "contextLens");
  const int64_t B = block_tables.dim(0), MB = block_tables.dim(1);
  TORL_CHECK(cu_seqlens_q.dim(0) == B + 1, op, ": cuSeqlensQ must have B + 1 = ", B + 1,
             " entries (B = the rows of blockTables), got ", cu_seqlens_q.dim(0));
  TORL_CHECK(context_lens.dim(0) == B, op, ": contextLens must have B = ", B, " entries, got ", context_lens.dim(0));
  for (const auto& [t, name] : {std::pair{&k_cache, "kCache"}, {&block_tables, "blockTables"},
                                {&cu_seqlens_q, "cuSeqlensQ"}, {&context_lens, "contextLens"}})
    checks::same_device(q, "q", *t, name, op);
  if (cu_seqlens_q.device().is_cpu()) {
    const int32_t* cu = cu_seqlens_q.ptr<int32_t>();
    const int32_t* cl = context_lens.ptr<int32_t>();
    const int32_t* bt = block_tables.ptr<int32_t>();
    TORL_CHECK(cu[0] == 0, op, ": cuSeqlensQ must start at 0, got ", cu[0]);
    TORL_CHECK(cu[B] == T, op, ": cuSeqlensQ must end at T = ", T, " (the rows of q), got ", cu[B]);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = cu[b + 1] - cu[b];
      TORL_CHECK(n >= 0, op, ": cuSeqlensQ must be non-decreasing, got cuSeqlensQ[", b + 1, "] = ", cu[b + 1],
                 " < cuSeqlensQ[", b, "] = ", cu[b]);
      TORL_CHECK(cl[b] >= n && cl[b] <= MB * BS, op, ": contextLens[", b, "] = ", cl[b], " must be in [", n,
                 " (its new tokens), ", MB * BS, " (maxBlocks · blockSize)]");
      for (int64_t j = 0; j < (cl[b] + BS - 1) / BS; ++j)
        TORL_CHECK(bt[b * MB + j] >= 0 && bt[b * MB + j] < NB, op, ": blockTables[", b, ", ", j, "] = ",
                   bt[b * MB + j], " is outside [0, numBlocks = ", NB, ")");
    }
  }
  checks::usable_device(q, op);
}

Tensor paged_attention_forward(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                               const Tensor& block_tables, const Tensor& cu_seqlens_q, const Tensor& context_lens,
                               double scale) {
  paged_attention_check(q, k_cache, v_cache, block_tables, cu_seqlens_q, context_lens, scale);
  return kernel<paged_attention_forward_t>("paged_attention_forward", q.device())(q, k_cache, v_cache, block_tables,
                                                                                   cu_seqlens_q, context_lens, scale);
}

void kv_cache_write_check(const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                          const Tensor& slot_mapping) {
  const char* op = "kvCacheWrite";
  checks::floating(k, op, "k");
  checks::floating(v, op, "v");
  check_cache(k_cache, v_cache, op);
  TORL_CHECK(k.ndim() == 3 && k.dim(1) == k_cache.dim(2) && k.dim(2) == k_cache.dim(3), op, ": k must be [T, ",
             k_cache.dim(2), ", ", k_cache.dim(3), "] (the cache's Hkv, Dh), got ", k.shape_str());
  checks::same_shape(k, "k", v, "v", op);
  check_i32_1d(slot_mapping, op, "slotMapping");
  TORL_CHECK(slot_mapping.dim(0) == k.dim(0), op, ": slotMapping must have T = ", k.dim(0), " entries, got ",
             slot_mapping.dim(0));
  for (const auto& [t, name] : {std::pair{&v, "v"}, {&k_cache, "kCache"}, {&slot_mapping, "slotMapping"}})
    checks::same_device(k, "k", *t, name, op);
  if (slot_mapping.device().is_cpu()) {
    const int64_t slots = k_cache.dim(0) * k_cache.dim(1);
    const int32_t* s = slot_mapping.ptr<int32_t>();
    std::vector<bool> seen(static_cast<size_t>(slots), false);
    for (int64_t t = 0; t < slot_mapping.dim(0); ++t) {
      if (s[t] == -1) continue;
      TORL_CHECK(s[t] >= 0 && s[t] < slots, op, ": slotMapping[", t, "] = ", s[t], " is outside [0, ", slots,
                 ") (numBlocks · blockSize) and is not −1");
      TORL_CHECK(!seen[s[t]], op, ": slotMapping[", t, "] = ", s[t], " repeats an earlier slot");
      seen[s[t]] = true;
    }
  }
  checks::usable_device(k, op);
}

void kv_cache_write(const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                    const Tensor& slot_mapping) {
  kv_cache_write_check(k, v, k_cache, v_cache, slot_mapping);
  kernel<kv_cache_write_t>("kv_cache_write", k.device())(k, v, k_cache, v_cache, slot_mapping);
}

void kv_cache_copy_check(const Tensor& k_cache, const Tensor& v_cache, const Tensor& src, const Tensor& dst) {
  const char* op = "kvCacheCopy";
  check_cache(k_cache, v_cache, op);
  check_i32_1d(src, op, "src");
  check_i32_1d(dst, op, "dst");
  TORL_CHECK(src.dim(0) == dst.dim(0), op, ": src and dst must have one length, got ", src.dim(0), " and ",
             dst.dim(0));
  checks::same_device(k_cache, "kCache", src, "src", op);
  checks::same_device(k_cache, "kCache", dst, "dst", op);
  if (src.device().is_cpu()) {
    const int64_t NB = k_cache.dim(0);
    const int32_t* s = src.ptr<int32_t>();
    const int32_t* d = dst.ptr<int32_t>();
    std::unordered_map<int32_t, int8_t> role;  // 1 read (a source may repeat), 2 written; O(N), not O(numBlocks)
    for (int64_t i = 0; i < src.dim(0); ++i) {
      TORL_CHECK(s[i] >= 0 && s[i] < NB, op, ": src[", i, "] = ", s[i], " is outside [0, numBlocks = ", NB, ")");
      TORL_CHECK(d[i] >= 0 && d[i] < NB, op, ": dst[", i, "] = ", d[i], " is outside [0, numBlocks = ", NB, ")");
      role[s[i]] = 1;
    }
    for (int64_t i = 0; i < dst.dim(0); ++i) {
      int8_t& r = role[d[i]];
      TORL_CHECK(r == 0, op, ": dst[", i, "] = ", d[i], r == 1 ? " is also a source" : " repeats");
      r = 2;
    }
  }
  checks::usable_device(k_cache, op);
}

void kv_cache_copy(const Tensor& k_cache, const Tensor& v_cache, const Tensor& src, const Tensor& dst) {
  kv_cache_copy_check(k_cache, v_cache, src, dst);
  kernel<kv_cache_copy_t>("kv_cache_copy", k_cache.device())(k_cache, v_cache, src, dst);
}

}  // namespace torl
