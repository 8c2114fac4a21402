// The CUDA interface in a build made without nvcc: CUDA reports "not
// compiled", and anything that would touch a GPU throws saying so. Compiled
// only when the CUDA sources are not (see scripts/sources.mjs).
#include "torl/cuda.h"
#include "torl/error.h"

namespace torl::cuda {

namespace {
[[noreturn]] void absent(const char* what) {
  fail("cannot ", what, ": this build of torl has no CUDA support (nvcc was not found when it was built; "
       "rebuild with TORL_CUDA=on on a machine with the CUDA toolkit)");
}
}  // namespace

const Info& info() {
  static const Info i = [] {
    Info x;
    x.reason = "torl was built without CUDA (nvcc was not found, or TORL_CUDA=off, at build time)";
    x.cublaslt_path = "not searched: no CUDA support in this build";
    return x;
  }();
  return i;
}

void require(Device, const char* what) { absent(what); }
void* alloc(size_t, int) { absent("allocate GPU memory"); }
void free(void*, int) {}
size_t cached_bytes() { return 0; }
MemoryInfo memory_info(int) { absent("read GPU memory"); }
void memcpy_h2d(void*, const void*, size_t, int) { absent("copy to a GPU"); }
void memcpy_d2h(void*, const void*, size_t, int) { absent("copy from a GPU"); }
void memcpy_d2d(void*, const void*, size_t, int) { absent("copy on a GPU"); }
void memset_zero(void*, size_t, int) { absent("clear GPU memory"); }
void synchronize(int) { absent("synchronize a GPU"); }
void* stream(int) { absent("use a GPU stream"); }

}  // namespace torl::cuda
