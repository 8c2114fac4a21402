// Sampling on the CPU, one row per task. Per row: the max and Σ exp (the
// temperature-only log-softmax), then the candidate set — top-k by
// nth_element, top-p alone by collecting tokens above a falling threshold
// until they hold the mass — sorted by (probability desc, id asc), cut by
// top-p and min-p, and an inverse-CDF walk with the row's Philox uniform.
// Without top-k/top-p the walk goes over the vocabulary in id order.
#include "torl/sample.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "softmax_kernels.h"
#include "torl/philox.h"
#include "torl/registry.h"
#include "torl/threadpool.h"

namespace torl::cpu {

namespace {

struct RowScratch {
  std::vector<float> x, e;
  std::vector<int32_t> idx;
};

struct Draw {
  int32_t id;
  float logprob, temp_logprob;
};

Draw greedy(const float* x, int64_t V, const SoftmaxKernels& K, float* e) {
  const float m = K.row_max(x, V);
  int32_t id = 0;
  while (x[id] != m) ++id;
  const double lse = m + std::log(static_cast<double>(K.exp_scaled(x, V, 1.f, m, e)));
  return {id, 0.f, static_cast<float>(x[id] - lse)};
}

Draw sample_row(const float* x, int64_t V, double temperature, int64_t top_k, double top_p, double min_p, double u,
                const SoftmaxKernels& K, RowScratch& s) {
  float* e = s.e.data();
  if (temperature == 0) return greedy(x, V, K, e);
  const float scale = static_cast<float>(1.0 / temperature);
  const float m = K.row_max(x, V) * scale;
  const double total = K.exp_scaled(x, V, scale, m, e);  // e[j] = exp(z_j − max z)
  const double lse = m + std::log(total);
  const int64_t k = top_k > 0 && top_k < V ? top_k : V;
  const auto before = [e](int32_t a, int32_t b) { return e[a] > e[b] || (e[a] == e[b] && a < b); };
  int32_t* idx = s.idx.data();
  int64_t n = V;  // candidates: idx[0, n) sorted by `before`, or (unsorted) the whole vocabulary
  bool sorted = false;
  if (k < V) {
    for (int32_t j = 0; j < V; ++j) idx[j] = j;
    std::nth_element(idx, idx + (k - 1), idx + V, before);
    n = k;
    sorted = true;
  } else if (top_p < 1) {
    for (double drop = 1;; drop *= 2) {  // tokens within e^-drop of the max, until they hold top_p of the mass
      const float thr = static_cast<float>(std::exp(-drop));
      double mass = 0;
      n = 0;
      for (int32_t j = 0; j < V; ++j)
        if (e[j] >= thr) idx[n++] = j, mass += e[j];
      if (mass >= top_p * total || n == V || thr == 0) break;
    }
    sorted = true;
  }
  double kept_mass = 0;
  if (sorted) {
    std::sort(idx, idx + n, before);
    double mass_k = 0;  // top-p renormalises over the top-k survivors
    if (k < V)
      for (int64_t i = 0; i < n; ++i) mass_k += e[idx[i]];
    else
      mass_k = total;
    const float floor = static_cast<float>(min_p * e[idx[0]]);
    int64_t kept = 0;
    for (; kept < n; ++kept) {
      if (top_p < 1 && kept_mass >= top_p * mass_k) break;
      if (e[idx[kept]] < floor) break;
      kept_mass += e[idx[kept]];
    }
    n = kept;
  } else {
    const float floor = static_cast<float>(min_p);  // the max has e = 1
    for (int64_t j = 0; j < V; ++j)
      if (e[j] >= floor) kept_mass += e[j];
  }
  // Inverse CDF over the kept tokens, in candidate order.
  const double target = u * kept_mass;
  double acc = 0;
  int32_t id = -1;
  if (sorted) {
    for (int64_t i = 0; i < n && id < 0; ++i)
      if ((acc += e[idx[i]]) > target) id = idx[i];
    if (id < 0) id = idx[n - 1];
  } else {
    const float floor = static_cast<float>(min_p);
    int32_t last = 0;
    for (int32_t j = 0; j < V && id < 0; ++j) {
      if (e[j] < floor) continue;
      last = j;
      if ((acc += e[j]) > target) id = j;
    }
    if (id < 0) id = last;
  }
  const double zid = static_cast<double>(x[id]) * scale;
  return {id, static_cast<float>(std::log(static_cast<double>(e[id])) - std::log(kept_mass)),
          static_cast<float>(zid - lse)};
}

SampleOut sample(const Tensor& logits, const SampleParams& p) {
  const int64_t B = logits.dim(0), V = logits.dim(1);
  const SoftmaxKernels& K = softmax_kernels();
  SampleOut out;
  out.ids = empty({B}, DType::I32, Device{});
  out.logprob = empty({B}, DType::F32, Device{});
  out.temp_logprob = empty({B}, DType::F32, Device{});
  std::vector<RowScratch> scratch(num_threads());
  for (RowScratch& s : scratch) {
    s.e.resize(V);
    s.idx.resize(V);
    if (logits.dtype == DType::BF16) s.x.resize(V);
  }
  parallel_for(B, [&](int64_t b, int thread) {
    RowScratch& s = scratch[thread];
    const float* x;
    if (logits.dtype == DType::F32) {
      x = logits.ptr<float>() + b * V;
    } else {
      const uint16_t* h = logits.ptr<uint16_t>() + b * V;
      for (int64_t j = 0; j < V; ++j) s.x[j] = bf16_to_f32(h[j]);
      x = s.x.data();
    }
    const double u = philox_uniform(p.seed[b], p.offset[b]);
    const Draw d = sample_row(x, V, p.temperature[b], p.top_k[b], p.top_p[b], p.min_p[b], u, K, s);
    out.ids.ptr<int32_t>()[b] = d.id;
    out.logprob.ptr<float>()[b] = d.logprob;
    out.temp_logprob.ptr<float>()[b] = d.temp_logprob;
  });
  return out;
}

}  // namespace

TORL_REGISTER_KERNEL(sample, CPU, sample);

}  // namespace torl::cpu
