// Tensor: a typed, shaped, contiguous view of memory on one device.
// Storage is reference-counted: an op (or an async job) that holds a Tensor
// keeps its memory alive even if JS disposes the handle meanwhile. Storage
// either owns its memory (aligned host / CUDA caching allocator) or borrows
// a JS TypedArray without copying (the deleter releases the JS reference).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "torl/device.h"
#include "torl/dtype.h"

namespace torl {

struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device;
  std::function<void(void*)> release;  // frees or un-borrows `data`
  Storage(void* d, size_t b, Device dev, std::function<void(void*)> rel)
      : data(d), bytes(b), device(dev), release(std::move(rel)) {}
  ~Storage() {
    if (release) release(data);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

using Shape = std::vector<int64_t>;

struct Tensor {
  std::shared_ptr<Storage> storage;
  DType dtype = DType::F32;
  Shape shape;

  bool defined() const { return storage != nullptr; }
  Device device() const { return storage ? storage->device : Device{}; }
  int ndim() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape[i < 0 ? shape.size() + i : i]; }
  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  // Contiguous row-major strides, in elements.
  std::vector<int64_t> strides() const;
  void* data() const { return storage ? storage->data : nullptr; }
  template <typename T>
  T* ptr() const { return static_cast<T*>(data()); }
  std::string shape_str() const;
};

std::string shape_str(const Shape& s);
// Checks that every extent is a finite non-negative integer that fits the
// address space; throws naming `what`.
void check_shape(const Shape& s, const char* what);

// New tensors (uninitialised / zero-filled) on the given device.
Tensor empty(const Shape& shape, DType dtype, Device device);
Tensor zeros(const Shape& shape, DType dtype, Device device);
// A tensor over memory someone else owns; `release` runs when the last
// reference goes away (on the JS thread for borrowed TypedArrays).
Tensor borrow(void* data, const Shape& shape, DType dtype, std::function<void(void*)> release);
// Copy to another device (a plain copy when the device is the same).
Tensor to_device(const Tensor& t, Device device);
// Copy with element-type conversion (host only).
Tensor to_dtype(const Tensor& t, DType dtype);
// Copies raw bytes between tensors of equal byte size, any devices.
void copy_bytes(const Tensor& dst, const Tensor& src);

}  // namespace torl
