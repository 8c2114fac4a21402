// embedding on the GPU: a row gather forward (16-byte copies when a row's
// bytes allow, any dtype) and a deterministic scatter-add backward: the ids
// are stably sorted (CUB radix sort, token order kept within an id), then one
// block per distinct id sums its tokens' dy rows in token order into dw[id]
// in f32 — the same additions in the same order as the CPU, so dw equals the
// CPU's bit for bit, whatever the duplicates. No atomics, no one-hot [T, V].
// Ids on the device are not range-checked by the dispatcher: an id outside
// [0, V) gives a zero row forward and is skipped backward (never an
// out-of-bounds access).
// Not yet run on a GPU (written without one): checked only by compilation.
#include <cub/device/device_radix_sort.cuh>

#include "elementwise.cuh"
#include "torl/embedding.h"
#include "torl/registry.h"

namespace torl::cuda {

namespace {

// ids: [T] i32;  w: [V, units] of U;  y: [T, units] of U (a row is `units` copy units).
template <typename U>
__global__ void embedding_forward(const int32_t* __restrict__ ids, const U* __restrict__ w, U* __restrict__ y,
                                  int64_t T, int64_t units, int64_t V) {
  const int64_t n = T * units, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t t = i / units, c = i - t * units;
    const int32_t id = ids[t];
    y[i] = id >= 0 && id < V ? w[id * units + c] : U{};
  }
}

// idx[t] = t, t < T.
__global__ void embedding_iota(int32_t* idx, int64_t T) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < T; t += stride)
    idx[t] = static_cast<int32_t>(t);
}

// keys: [T] sorted ids;  tok: [T] their token indices (ascending within an id);
// dy: [T, D];  dw: [V, D] f32, zero-filled. Block b handles the run of equal
// ids that starts at b (other blocks return at once).
__global__ void embedding_backward(const int32_t* __restrict__ keys, const int32_t* __restrict__ tok, In dy,
                                   float* __restrict__ dw, int64_t T, int64_t D, int64_t V, bool vec) {
  const int64_t b = blockIdx.x;
  const int32_t id = keys[b];
  if ((b > 0 && keys[b - 1] == id) || id < 0 || id >= V) return;
  int64_t e = b + 1;
  while (e < T && keys[e] == id) ++e;
  const Out row{dw + id * D, false};
  for (int64_t j = static_cast<int64_t>(threadIdx.x) * 8; j < D; j += static_cast<int64_t>(blockDim.x) * 8) {
    float acc[8] = {};
    for (int64_t r = b; r < e; ++r) {
      float v[8];
      load_group(dy, static_cast<int64_t>(tok[r]) * D, j, D, vec, v);
#pragma unroll
      for (int k = 0; k < 8; ++k) acc[k] += v[k];
    }
    store_group(row, 0, j, D, vec, acc);
  }
}

template <typename U>
void gather(const Tensor& ids, const Tensor& w, Tensor& y, int64_t units, cudaStream_t s) {
  const int64_t n = ids.dim(0) * units;
  embedding_forward<U><<<grid_for(n, 256), 256, 0, s>>>(ids.ptr<int32_t>(), static_cast<const U*>(w.data()),
                                                         static_cast<U*>(y.data()), ids.dim(0), units, w.dim(0));
  TORL_CUDA_LAUNCHED("embedding_forward");
}

Tensor forward(const Tensor& ids, const Tensor& w) {
  const int dev = w.device().index;
  set_device(dev);
  const int64_t T = ids.dim(0), D = w.dim(1);
  Tensor y = empty({T, D}, w.dtype, w.device());
  if (T == 0 || D == 0) return y;
  const int64_t row = D * static_cast<int64_t>(dtype_size(w.dtype));
  const cudaStream_t s = current_stream(dev);
  if (row % 16 == 0) gather<uint4>(ids, w, y, row / 16, s);
  else if (row % 4 == 0) gather<uint32_t>(ids, w, y, row / 4, s);
  else gather<uint16_t>(ids, w, y, row / 2, s);
  return y;
}

Tensor backward(const Tensor& dy, const Tensor& ids, int64_t vocab) {
  const int dev = dy.device().index;
  set_device(dev);
  const int64_t T = ids.dim(0), D = dy.dim(1);
  Tensor dw = zeros({vocab, D}, DType::F32, dy.device());
  if (T == 0 || D == 0) return dw;
  TORL_CHECK(T < (int64_t(1) << 31), "embeddingBackward (cuda): T must be below 2^31, got ", T);
  const cudaStream_t s = current_stream(dev);
  Tensor idx = empty({T}, DType::I32, dy.device());
  Tensor keys = empty({T}, DType::I32, dy.device()), tok = empty({T}, DType::I32, dy.device());
  embedding_iota<<<grid_for(T, 256), 256, 0, s>>>(idx.ptr<int32_t>(), T);
  TORL_CUDA_LAUNCHED("embedding_iota");
  size_t temp_bytes = 0;
  const int n = static_cast<int>(T);
  TORL_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, ids.ptr<int32_t>(), keys.ptr<int32_t>(),
                                                  idx.ptr<int32_t>(), tok.ptr<int32_t>(), n, 0, 32, s));
  Tensor temp = empty({static_cast<int64_t>(temp_bytes)}, DType::U8, dy.device());
  TORL_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.data(), temp_bytes, ids.ptr<int32_t>(), keys.ptr<int32_t>(),
                                                  idx.ptr<int32_t>(), tok.ptr<int32_t>(), n, 0, 32, s));
  const int threads = static_cast<int>(std::min<int64_t>(256, ((D + 7) / 8 + 31) / 32 * 32));
  embedding_backward<<<static_cast<unsigned>(T), threads, 0, s>>>(
      keys.ptr<int32_t>(), tok.ptr<int32_t>(), in(dy), dw.ptr<float>(), T, D, vocab,
      D % 8 == 0 && aligned16({dy.data(), dw.data()}));
  TORL_CUDA_LAUNCHED("embedding_backward");
  return dw;
}

}  // namespace

TORL_REGISTER_KERNEL(embedding_forward, CUDA, forward);
TORL_REGISTER_KERNEL(embedding_backward, CUDA, backward);

}  // namespace torl::cuda
