// Tensor construction, shape checks and copies between devices/dtypes.
// Host memory is 64-byte aligned (one cache line, one AVX-512 vector).
#include "torl/tensor.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <sys/mman.h>

#include "torl/cuda.h"
#include "torl/error.h"

namespace torl {

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::vector<int64_t> Tensor::strides() const {
  std::vector<int64_t> s(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::string Tensor::shape_str() const { return torl::shape_str(shape); }

void check_shape(const Shape& s, const char* what) {
  TORL_CHECK(s.size() <= 8, what, ": at most 8 dimensions are supported, got ", s.size());
  // 2^47 elements is far past any memory we can allocate, and keeps products in range.
  const int64_t limit = int64_t(1) << 47;
  int64_t n = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    TORL_CHECK(s[i] >= 0, what, ": shape[", i, "] must be a non-negative integer, got ", s[i]);
    TORL_CHECK(s[i] <= limit && (s[i] == 0 || n <= limit / s[i]), what, ": shape ", shape_str(s),
               " has more than 2^47 elements");
    n *= s[i];
  }
}

// Host blocks are cached by size class when freed and handed out again, so a
// training or decode loop that allocates the same shapes every step touches
// warm pages instead of faulting fresh ones in (page faults cost 10-50 µs each
// on some VMs). Sizes round up to 4 KiB below 1 MiB and to 1 MiB above; the
// cache holds at most TORL_HOST_CACHE_MB (default 1024) and frees past that.
namespace {

constexpr size_t kHugePage = size_t(2) << 20, kHugeFrom = size_t(4) << 20;

size_t host_class(size_t bytes) {
  if (bytes <= (size_t(1) << 20)) return (bytes + 4095) / 4096 * 4096;
  return (bytes + (size_t(1) << 20) - 1) >> 20 << 20;
}

struct HostCache {
  std::mutex m;
  std::multimap<size_t, void*> blocks;
  size_t cached = 0;
  size_t limit = [] {
    const char* e = std::getenv("TORL_HOST_CACHE_MB");
    const long mb = e ? std::atol(e) : 1024;
    return static_cast<size_t>(mb < 0 ? 0 : mb) << 20;
  }();
};

HostCache& host_cache() {
  static HostCache* c = new HostCache;  // never destroyed: tensors may be freed during teardown
  return *c;
}

void* host_alloc(size_t bytes, size_t* klass) {
  *klass = host_class(bytes ? bytes : 1);
  HostCache& c = host_cache();
  {
    std::lock_guard<std::mutex> lk(c.m);
    auto it = c.blocks.find(*klass);
    if (it != c.blocks.end()) {
      void* p = it->second;
      c.blocks.erase(it);
      c.cached -= *klass;
      return p;
    }
  }
  // Blocks of 4 MiB and up sit on 2 MiB boundaries in transparent huge pages, as
  // numpy's are: a GEMV streaming a 17 MB weight misses the TLB on every 4 KiB page
  // otherwise (measured: 44 -> 70 GB/s on one core), and the first touch costs one
  // fault per 2 MiB instead of 512.
  const bool huge = *klass >= kHugeFrom;
  void* p = nullptr;
  if (posix_memalign(&p, huge ? kHugePage : 64, *klass) != 0 || !p) {
    fail("out of host memory allocating ", bytes, " bytes");
  }
#ifdef MADV_HUGEPAGE
  if (huge) madvise(p, *klass / kHugePage * kHugePage, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  return p;
}

void host_free(void* p, size_t klass) {
  HostCache& c = host_cache();
  {
    std::lock_guard<std::mutex> lk(c.m);
    if (c.cached + klass <= c.limit) {
      c.blocks.emplace(klass, p);
      c.cached += klass;
      return;
    }
  }
  std::free(p);
}

}  // namespace

Tensor empty(const Shape& shape, DType dtype, Device device) {
  check_shape(shape, "empty");
  Tensor t;
  t.dtype = dtype;
  t.shape = shape;
  const size_t bytes = t.nbytes();
  if (device.is_cpu()) {
    size_t klass = 0;
    void* p = host_alloc(bytes, &klass);
    t.storage = std::make_shared<Storage>(p, bytes, device, [klass](void* q) { host_free(q, klass); });
  } else {
    cuda::require(device, "allocate a tensor");
    const int dev = device.index;
    t.storage = std::make_shared<Storage>(cuda::alloc(bytes, dev), bytes, device,
                                          [dev](void* p) { cuda::free(p, dev); });
  }
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.is_cpu()) std::memset(t.data(), 0, t.nbytes());
  else cuda::memset_zero(t.data(), t.nbytes(), device.index);
  return t;
}

Tensor borrow(void* data, const Shape& shape, DType dtype, std::function<void(void*)> release) {
  check_shape(shape, "tensor");
  Tensor t;
  t.dtype = dtype;
  t.shape = shape;
  t.storage = std::make_shared<Storage>(data, t.nbytes(), Device{}, std::move(release));
  return t;
}

void copy_bytes(const Tensor& dst, const Tensor& src) {
  TORL_CHECK(dst.nbytes() == src.nbytes(), "copy: byte sizes differ (", dst.nbytes(), " vs ", src.nbytes(), ")");
  const size_t n = src.nbytes();
  if (n == 0) return;
  const Device a = dst.device(), b = src.device();
  if (a.is_cpu() && b.is_cpu()) std::memcpy(dst.data(), src.data(), n);
  else if (a.is_cuda() && b.is_cpu()) cuda::memcpy_h2d(dst.data(), src.data(), n, a.index);
  else if (a.is_cpu() && b.is_cuda()) cuda::memcpy_d2h(dst.data(), src.data(), n, b.index);
  else {
    TORL_CHECK(a == b, "copy between two different GPUs (", b.str(), " -> ", a.str(), ") is not supported");
    cuda::memcpy_d2d(dst.data(), src.data(), n, a.index);
  }
}

Tensor to_device(const Tensor& t, Device device) {
  Tensor out = empty(t.shape, t.dtype, device);
  copy_bytes(out, t);
  return out;
}

// Reads element i of a host tensor as double (exact for every dtype but i64 past 2^53).
static double load(const Tensor& t, int64_t i) {
  switch (t.dtype) {
    case DType::F32: return t.ptr<float>()[i];
    case DType::BF16: return bf16_to_f32(t.ptr<uint16_t>()[i]);
    case DType::F16: return f16_to_f32(t.ptr<uint16_t>()[i]);
    case DType::I32: return t.ptr<int32_t>()[i];
    case DType::I64: return static_cast<double>(t.ptr<int64_t>()[i]);
    case DType::U8: return t.ptr<uint8_t>()[i];
  }
  return 0;
}

static void store(const Tensor& t, int64_t i, double v) {
  switch (t.dtype) {
    case DType::F32: t.ptr<float>()[i] = static_cast<float>(v); break;
    case DType::BF16: t.ptr<uint16_t>()[i] = f32_to_bf16(static_cast<float>(v)); break;
    case DType::F16: t.ptr<uint16_t>()[i] = f32_to_f16(static_cast<float>(v)); break;
    case DType::I32: t.ptr<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::I64: t.ptr<int64_t>()[i] = static_cast<int64_t>(v); break;
    case DType::U8: t.ptr<uint8_t>()[i] = static_cast<uint8_t>(v); break;
  }
}

Tensor to_dtype(const Tensor& t, DType dtype) {
  TORL_CHECK(t.device().is_cpu(), "to_dtype: expects a host tensor, got one on ", t.device().str());
  Tensor out = empty(t.shape, dtype, t.device());
  const int64_t n = t.numel();
  if (t.dtype == dtype) {
    if (t.nbytes()) std::memcpy(out.data(), t.data(), t.nbytes());  // (null data when empty)
  } else {
    for (int64_t i = 0; i < n; ++i) store(out, i, load(t, i));
  }
  return out;
}

}  // namespace torl
