// CUDA runtime: detection (never throws: no driver or no GPU is reported with
// the reason), one non-blocking stream per device, host↔device copies, and a
// caching allocator (freed blocks are kept per rounded size and reused, so a
// training step never calls cudaMalloc in steady state).
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common.cuh"
#include "cublaslt.cuh"

namespace torl::cuda {

namespace {

Info detect() {
  Info i;
  i.compiled = true;
  cudaRuntimeGetVersion(&i.runtime_version);
  cudaDriverGetVersion(&i.driver_version);
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    i.reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
    cudaGetLastError();  // clear the sticky error
  } else if (n == 0) {
    i.reason = "no CUDA device found";
  } else {
    i.available = true;
    for (int d = 0; d < n; ++d) {
      cudaDeviceProp p{};
      if (cudaGetDeviceProperties(&p, d) == cudaSuccess)
        i.devices.push_back(std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ")");
      else
        i.devices.push_back("unknown");
    }
  }
  const CublasLt& lt = cublaslt();
  i.cublaslt = lt.loaded;
  i.cublaslt_path = lt.loaded ? lt.path : lt.why_not;
  return i;
}

// Size classes: 512-byte steps below 1 MiB, 2 MiB steps above.
size_t round_size(size_t bytes) {
  if (bytes < (1u << 20)) return (bytes + 511) / 512 * 512;
  return (bytes + (2u << 20) - 1) / (2u << 20) * (2u << 20);
}

struct Cache {
  std::mutex m;
  std::map<int, std::multimap<size_t, void*>> free_blocks;  // per device: size → block
  std::map<void*, size_t> sizes;                            // every live or cached block
  size_t cached = 0;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: blocks may be freed during teardown
  return *c;
}

}  // namespace

const Info& info() {
  static const Info i = detect();
  return i;
}

void require(Device d, const char* what) {
  const Info& i = info();
  if (!i.available) fail("cannot ", what, " on ", d.str(), ": CUDA is unavailable (", i.reason, ")");
  if (d.index < 0 || d.index >= static_cast<int>(i.devices.size()))
    fail("cannot ", what, " on ", d.str(), ": there are ", i.devices.size(), " CUDA device(s)");
}

void set_device(int device) {
  static thread_local int current = -1;
  if (current != device) {
    TORL_CUDA_CHECK(cudaSetDevice(device));
    current = device;
  }
}

void* stream(int device) {
  static std::mutex m;
  static std::map<int, cudaStream_t> streams;
  std::lock_guard<std::mutex> lk(m);
  auto it = streams.find(device);
  if (it != streams.end()) return it->second;
  set_device(device);
  cudaStream_t s;
  TORL_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  streams[device] = s;
  return s;
}

void* alloc(size_t bytes, int device) {
  Cache& c = cache();
  const size_t size = round_size(bytes ? bytes : 1);
  {
    std::lock_guard<std::mutex> lk(c.m);
    auto& fb = c.free_blocks[device];
    auto it = fb.find(size);
    if (it != fb.end()) {
      void* p = it->second;
      fb.erase(it);
      c.cached -= size;
      return p;
    }
  }
  set_device(device);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, size);
  if (e == cudaErrorMemoryAllocation) {  // give the cache back and retry once
    cudaGetLastError();
    std::lock_guard<std::mutex> lk(c.m);
    for (auto& [s, q] : c.free_blocks[device]) {
      cudaFree(q);
      c.sizes.erase(q);
    }
    c.free_blocks[device].clear();
    c.cached = 0;
    e = cudaMalloc(&p, size);
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    fail("CUDA error in cudaMalloc(", size, " bytes) on cuda:", device, ": ", cudaGetErrorName(e), " (",
         cudaGetErrorString(e), ")");
  }
  std::lock_guard<std::mutex> lk(c.m);
  c.sizes[p] = size;
  return p;
}

void free(void* p, int device) {
  if (!p) return;
  Cache& c = cache();
  std::lock_guard<std::mutex> lk(c.m);
  auto it = c.sizes.find(p);
  if (it == c.sizes.end()) return;
  c.free_blocks[device].emplace(it->second, p);
  c.cached += it->second;
}

size_t cached_bytes() {
  std::lock_guard<std::mutex> lk(cache().m);
  return cache().cached;
}

MemoryInfo memory_info(int device) {
  set_device(device);
  size_t free = 0, total = 0;
  TORL_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return {free + cached_bytes(), total};
}

static void copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, int device) {
  set_device(device);
  cudaStream_t s = current_stream(device);
  TORL_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, s));
  TORL_CUDA_CHECK(cudaStreamSynchronize(s));
}

void memcpy_h2d(void* dst, const void* src, size_t bytes, int device) { copy(dst, src, bytes, cudaMemcpyHostToDevice, device); }
void memcpy_d2h(void* dst, const void* src, size_t bytes, int device) { copy(dst, src, bytes, cudaMemcpyDeviceToHost, device); }
void memcpy_d2d(void* dst, const void* src, size_t bytes, int device) { copy(dst, src, bytes, cudaMemcpyDeviceToDevice, device); }

void memset_zero(void* dst, size_t bytes, int device) {
  set_device(device);
  TORL_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, current_stream(device)));
}

void synchronize(int device) {
  set_device(device);
  TORL_CUDA_CHECK(cudaStreamSynchronize(current_stream(device)));
}

}  // namespace torl::cuda
