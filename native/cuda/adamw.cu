// AdamW, the global grad norm and grad scaling on the GPU, each over a whole
// list of tensors in ONE launch: a table of the tensors (pointers, dtypes,
// sizes) and the prefix count of their CHUNK-element chunks sits in device
// memory; block b binary-searches its tensor and walks its chunk, 8 elements
// per thread with 16-byte accesses. So ~340 tensors of a 1.5B model cost one
// launch, not 340. AdamW updates the f32 master (or the f32 params) with the
// CPU's float formula and writes bf16(master) into bf16 params. The norm is a
// two-stage f64 reduction (per-chunk partials, then one block in a fixed
// order: deterministic) read back to the host.
// Not yet run on a GPU (written without one): checked only by compilation.
#include <cmath>
#include <vector>

#include "elementwise.cuh"
#include "torl/adamw.h"
#include "torl/registry.h"

namespace torl::cuda {

namespace {

constexpr int64_t CHUNK = 1 << 16;
constexpr int THREADS = 256;

// One tensor of the list (unused operands null).
struct Entry {
  In g;        // grads
  float* p;    // the f32 weights updated (master, or the params themselves)
  Out pout;    // bf16/f32 params written from master (p.p null without master)
  float* m;
  float* v;
  int64_t n;
  bool vec;    // every operand 16-byte aligned
};

struct Hyper {
  float b1, b2, eps, decay, step_size, inv_sqrt_bc2;
};

// The entry of block b: the last i with first[i] ≤ b (first: [n + 1] chunk prefix counts).
__device__ int64_t entry_of(const int64_t* first, int64_t n, int64_t b) {
  int64_t lo = 0, hi = n;
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (first[mid] <= b) lo = mid;
    else hi = mid;
  }
  return lo;
}

// Each block: one chunk of one entry.  e: [n];  first: [n + 1].
__global__ void adamw_forward(const Entry* __restrict__ e, const int64_t* __restrict__ first, int64_t n, Hyper h) {
  const Entry& t = e[entry_of(first, n, blockIdx.x)];
  const int64_t begin = (blockIdx.x - first[&t - e]) * CHUNK, end = min(t.n, begin + CHUNK);
  const Out p32{t.p, false}, m32{t.m, false}, v32{t.v, false};
  for (int64_t j = begin + static_cast<int64_t>(threadIdx.x) * 8; j < end; j += THREADS * 8) {
    float g[8], p[8], m[8], v[8];
    load_group(t.g, 0, j, end, t.vec, g);
    load_group(In{t.p, false}, 0, j, end, t.vec, p);
    load_group(In{t.m, false}, 0, j, end, t.vec, m);
    load_group(In{t.v, false}, 0, j, end, t.vec, v);
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      m[k] = h.b1 * m[k] + (1 - h.b1) * g[k];
      v[k] = h.b2 * v[k] + (1 - h.b2) * g[k] * g[k];
      p[k] = p[k] * h.decay - h.step_size * m[k] / (sqrtf(v[k]) * h.inv_sqrt_bc2 + h.eps);
    }
    store_group(m32, 0, j, end, t.vec, m);
    store_group(v32, 0, j, end, t.vec, v);
    store_group(p32, 0, j, end, t.vec, p);
    if (t.pout.p) store_group(t.pout, 0, j, end, t.vec, p);
  }
}

// partial[b] = Σ g² over block b's chunk, in f64.
__global__ void grad_norm_partial(const Entry* __restrict__ e, const int64_t* __restrict__ first, int64_t n,
                                  double* __restrict__ partial) {
  __shared__ double red[32];
  const Entry& t = e[entry_of(first, n, blockIdx.x)];
  const int64_t begin = (blockIdx.x - first[&t - e]) * CHUNK, end = min(t.n, begin + CHUNK);
  double s = 0;
  for (int64_t j = begin + static_cast<int64_t>(threadIdx.x) * 8; j < end; j += THREADS * 8) {
    float g[8];
    load_group(t.g, 0, j, end, t.vec, g);
#pragma unroll
    for (int k = 0; k < 8; ++k) s += static_cast<double>(g[k]) * g[k];
  }
  s = block_sum(s, red);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// *total = Σ partial[0, blocks): one block, a fixed order.
__global__ void grad_norm_reduce(const double* __restrict__ partial, int64_t blocks, double* __restrict__ total) {
  __shared__ double red[32];
  double s = 0;
  for (int64_t b = threadIdx.x; b < blocks; b += blockDim.x) s += partial[b];
  s = block_sum(s, red);
  if (threadIdx.x == 0) *total = s;
}

// g ← g · scale (bf16 grads re-rounded).
__global__ void scale_grads_forward(const Entry* __restrict__ e, const int64_t* __restrict__ first, int64_t n,
                                    float scale) {
  const Entry& t = e[entry_of(first, n, blockIdx.x)];
  const int64_t begin = (blockIdx.x - first[&t - e]) * CHUNK, end = min(t.n, begin + CHUNK);
  const Out g_out{const_cast<void*>(t.g.p), t.g.bf16};
  for (int64_t j = begin + static_cast<int64_t>(threadIdx.x) * 8; j < end; j += THREADS * 8) {
    float g[8];
    load_group(t.g, 0, j, end, t.vec, g);
#pragma unroll
    for (int k = 0; k < 8; ++k) g[k] *= scale;
    store_group(g_out, 0, j, end, t.vec, g);
  }
}

// The tensor table and chunk prefix counts, copied to the device.
struct Table {
  Tensor entries, first;
  int64_t n = 0, blocks = 0;
  const Entry* e() const { return static_cast<const Entry*>(entries.data()); }
  const int64_t* f() const { return first.ptr<int64_t>(); }
};

Table upload(const std::vector<Entry>& es, Device d) {
  Table t;
  t.n = static_cast<int64_t>(es.size());
  std::vector<int64_t> first(es.size() + 1, 0);
  for (size_t i = 0; i < es.size(); ++i) first[i + 1] = first[i] + (es[i].n + CHUNK - 1) / CHUNK;
  t.blocks = first.back();
  TORL_CHECK(t.blocks < (int64_t(1) << 31), "adamw (cuda): too many elements (", t.blocks, " chunks)");
  t.entries = empty({static_cast<int64_t>(es.size() * sizeof(Entry))}, DType::U8, d);
  t.first = empty({static_cast<int64_t>(first.size())}, DType::I64, d);
  memcpy_h2d(t.entries.data(), es.data(), es.size() * sizeof(Entry), d.index);
  memcpy_h2d(t.first.data(), first.data(), first.size() * sizeof(int64_t), d.index);
  return t;
}

std::vector<Entry> grad_entries(const std::vector<Tensor>& grads) {
  std::vector<Entry> es;
  for (const Tensor& g : grads) es.push_back(Entry{in(g), nullptr, Out{}, nullptr, nullptr, g.numel(), aligned16({g.data()})});
  return es;
}

void step(const std::vector<Tensor>& params, const std::vector<Tensor>& grads, const std::vector<Tensor>& m,
          const std::vector<Tensor>& v, const std::vector<Tensor>& master, const AdamWOptions& o) {
  const Device d = params[0].device();
  set_device(d.index);
  std::vector<Entry> es;
  for (size_t i = 0; i < params.size(); ++i) {
    const bool has_master = !master.empty();
    float* p = (has_master ? master[i] : params[i]).ptr<float>();
    const Out pout = has_master ? out(params[i]) : Out{};
    es.push_back(Entry{in(grads[i]), p, pout, m[i].ptr<float>(), v[i].ptr<float>(), params[i].numel(),
                       aligned16({grads[i].data(), p, pout.p, m[i].data(), v[i].data()})});
  }
  const Table t = upload(es, d);
  if (t.blocks == 0) return;
  const Hyper h{static_cast<float>(o.beta1), static_cast<float>(o.beta2), static_cast<float>(o.eps),
                static_cast<float>(1 - o.lr * o.weight_decay),
                static_cast<float>(o.lr / (1 - std::pow(o.beta1, static_cast<double>(o.step)))),
                static_cast<float>(1 / std::sqrt(1 - std::pow(o.beta2, static_cast<double>(o.step))))};
  adamw_forward<<<static_cast<unsigned>(t.blocks), THREADS, 0, current_stream(d.index)>>>(t.e(), t.f(), t.n, h);
  TORL_CUDA_LAUNCHED("adamw_forward");
}

double norm(const std::vector<Tensor>& grads) {
  const Device d = grads[0].device();
  set_device(d.index);
  const Table t = upload(grad_entries(grads), d);
  if (t.blocks == 0) return 0;
  const cudaStream_t s = current_stream(d.index);
  Tensor partial = empty({t.blocks}, DType::I64, d), total = empty({1}, DType::I64, d);  // f64 in 8-byte elements
  grad_norm_partial<<<static_cast<unsigned>(t.blocks), THREADS, 0, s>>>(t.e(), t.f(), t.n,
                                                                        static_cast<double*>(partial.data()));
  TORL_CUDA_LAUNCHED("grad_norm_partial");
  grad_norm_reduce<<<1, 1024, 0, s>>>(static_cast<const double*>(partial.data()), t.blocks,
                                      static_cast<double*>(total.data()));
  TORL_CUDA_LAUNCHED("grad_norm_reduce");
  double sum = 0;
  memcpy_d2h(&sum, total.data(), sizeof sum, d.index);  // synchronises: the norm is a host number
  return std::sqrt(sum);
}

void scale(const std::vector<Tensor>& grads, double s) {
  const Device d = grads[0].device();
  set_device(d.index);
  const Table t = upload(grad_entries(grads), d);
  if (t.blocks == 0) return;
  scale_grads_forward<<<static_cast<unsigned>(t.blocks), THREADS, 0, current_stream(d.index)>>>(
      t.e(), t.f(), t.n, static_cast<float>(s));
  TORL_CUDA_LAUNCHED("scale_grads_forward");
}

}  // namespace

TORL_REGISTER_KERNEL(adamw_step, CUDA, step);
TORL_REGISTER_KERNEL(grad_norm, CUDA, norm);
TORL_REGISTER_KERNEL(scale_grads, CUDA, scale);

}  // namespace torl::cuda
