// The CUDA side as the rest of the runtime sees it. Everything here works in
// a build without CUDA (TORL_WITH_CUDA undefined): it reports "not compiled".
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "torl/tensor.h"

namespace torl::cuda {

struct Info {
  bool compiled = false;       // the addon was built with nvcc
  bool available = false;      // a driver and at least one GPU answered
  std::string reason;          // why not available
  std::vector<std::string> devices;  // names, by ordinal
  bool cublaslt = false;       // libcublasLt was found and loaded
  std::string cublaslt_path;   // where, or why not
  int runtime_version = 0, driver_version = 0;
};

// Detects once (lazily); never throws.
const Info& info();

// Throws a torl::Error naming why CUDA cannot be used for `what`.
void require(Device d, const char* what);

// Caching allocator: blocks are kept per size class and reused.
void* alloc(size_t bytes, int device);
void free(void* p, int device);
size_t cached_bytes();
// The device's free and total memory (cudaMemGetInfo); `free` counts the
// caching allocator's idle blocks as free too.
struct MemoryInfo {
  size_t free = 0, total = 0;
};
MemoryInfo memory_info(int device);

void memcpy_h2d(void* dst, const void* src, size_t bytes, int device);
void memcpy_d2h(void* dst, const void* src, size_t bytes, int device);
void memcpy_d2d(void* dst, const void* src, size_t bytes, int device);
void memset_zero(void* dst, size_t bytes, int device);
void synchronize(int device);

// The stream every kernel of `device` is launched on (a cudaStream_t).
void* stream(int device);

}  // namespace torl::cuda
