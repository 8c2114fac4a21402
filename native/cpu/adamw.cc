// AdamW, the global grad norm and grad scaling on the CPU. Every tensor of a
// list is cut into fixed-size blocks and all blocks of all tensors form one
// parallel region, so many small tensors cost no more than one large one.
#include "torl/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "torl/registry.h"
#include "torl/threadpool.h"

namespace torl::cpu {

namespace {

constexpr int64_t BLOCK = 1 << 15;

struct Block {
  size_t tensor;
  int64_t begin, end;
};

std::vector<Block> blocks_of(const std::vector<Tensor>& ts) {
  std::vector<Block> out;
  for (size_t i = 0; i < ts.size(); ++i)
    for (int64_t b = 0, n = ts[i].numel(); b < n; b += BLOCK) out.push_back({i, b, std::min(n, b + BLOCK)});
  return out;
}

// A block of an f32 or bf16 tensor as f32: the tensor itself, or widened into buf.
const float* f32_block(const Tensor& t, const Block& b, std::vector<float>& buf) {
  if (t.dtype == DType::F32) return t.ptr<float>() + b.begin;
  buf.resize(b.end - b.begin);
  const uint16_t* h = t.ptr<uint16_t>() + b.begin;
  for (int64_t i = 0; i < b.end - b.begin; ++i) buf[i] = bf16_to_f32(h[i]);
  return buf.data();
}

void adamw_step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& m,
                const std::vector<Tensor>& v, const std::vector<Tensor>& master, const AdamWOptions& o) {
  const std::vector<Block> blocks = blocks_of(params);
  const float b1 = static_cast<float>(o.beta1), b2 = static_cast<float>(o.beta2), eps = static_cast<float>(o.eps);
  const float decay = static_cast<float>(1 - o.lr * o.weight_decay);
  const float step_size = static_cast<float>(o.lr / (1 - std::pow(o.beta1, static_cast<double>(o.step))));
  const float inv_sqrt_bc2 = static_cast<float>(1 / std::sqrt(1 - std::pow(o.beta2, static_cast<double>(o.step))));
  std::vector<std::vector<float>> bufs(num_threads());
  parallel_for(static_cast<int64_t>(blocks.size()), [&](int64_t k, int thread) {
    const Block& b = blocks[k];
    const size_t i = b.tensor;
    const int64_t n = b.end - b.begin;
    const float* g = f32_block(grads[i], b, bufs[thread]);
    float* p = (master.empty() ? params[i] : master[i]).ptr<float>() + b.begin;
    float* mp = m[i].ptr<float>() + b.begin;
    float* vp = v[i].ptr<float>() + b.begin;
    for (int64_t j = 0; j < n; ++j) {
      mp[j] = b1 * mp[j] + (1 - b1) * g[j];
      vp[j] = b2 * vp[j] + (1 - b2) * g[j] * g[j];
      p[j] = p[j] * decay - step_size * mp[j] / (std::sqrt(vp[j]) * inv_sqrt_bc2 + eps);
    }
    if (master.empty()) return;
    if (params[i].dtype == DType::BF16) {
      uint16_t* out = params[i].ptr<uint16_t>() + b.begin;
      for (int64_t j = 0; j < n; ++j) out[j] = f32_to_bf16(p[j]);
    } else {
      std::copy(p, p + n, params[i].ptr<float>() + b.begin);
    }
  });
}

double grad_norm(const std::vector<Tensor>& grads) {
  const std::vector<Block> blocks = blocks_of(grads);
  std::vector<double> partial(blocks.size());
  std::vector<std::vector<float>> bufs(num_threads());
  parallel_for(static_cast<int64_t>(blocks.size()), [&](int64_t k, int thread) {
    const float* g = f32_block(grads[blocks[k].tensor], blocks[k], bufs[thread]);
    const int64_t n = blocks[k].end - blocks[k].begin;
    constexpr int L = 8;  // independent lanes, so the f64 sum vectorises
    double acc[L] = {};
    int64_t j = 0;
    for (; j + L <= n; j += L)
      for (int l = 0; l < L; ++l) acc[l] += static_cast<double>(g[j + l]) * g[j + l];
    for (; j < n; ++j) acc[0] += static_cast<double>(g[j]) * g[j];
    double s = 0;
    for (double a : acc) s += a;
    partial[k] = s;
  });
  double total = 0;  // summed in block order: the same result for any thread count
  for (double p : partial) total += p;
  return std::sqrt(total);
}

void scale_grads(const std::vector<Tensor>& grads, double scale) {
  const std::vector<Block> blocks = blocks_of(grads);
  const float s = static_cast<float>(scale);
  parallel_for(static_cast<int64_t>(blocks.size()), [&](int64_t k, int) {
    const Tensor& t = grads[blocks[k].tensor];
    const int64_t b = blocks[k].begin, e = blocks[k].end;
    if (t.dtype == DType::F32) {
      float* p = t.ptr<float>();
      for (int64_t j = b; j < e; ++j) p[j] *= s;
    } else {
      uint16_t* p = t.ptr<uint16_t>();
      for (int64_t j = b; j < e; ++j) p[j] = f32_to_bf16(bf16_to_f32(p[j]) * s);
    }
  });
}

}  // namespace

TORL_REGISTER_KERNEL(adamw_step, CPU, adamw_step);
TORL_REGISTER_KERNEL(grad_norm, CPU, grad_norm);
TORL_REGISTER_KERNEL(scale_grads, CPU, scale_grads);

}  // namespace torl::cpu
