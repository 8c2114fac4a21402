// The kernel registry: each backend registers its implementation of an op at
// load time; the op's dispatcher looks it up by (op, device kind). A backend
// that lacks an op simply has no entry, and the call fails with a clear
// message instead of a link error — so CPU and CUDA kernels land independently.
//
// Type safety by convention: every op header declares `using <op>_t = R(Args...)`;
// TORL_REGISTER_KERNEL(op, KIND, fn) casts fn to `op_t*` (a compile error if the
// signature differs) and kernel<op_t>("op", device) casts it back.
#pragma once
#include "torl/device.h"
#include "torl/error.h"

namespace torl {

void register_kernel(const char* op, Device::Kind kind, void* fn);
void* find_kernel(const char* op, Device::Kind kind);  // nullptr when absent

template <typename Fn>
Fn* kernel(const char* op, Device d) {
  void* p = find_kernel(op, d.kind);
  if (!p) fail(op, ": no ", d.is_cpu() ? "CPU" : "CUDA", " kernel in this build of torl");
  return reinterpret_cast<Fn*>(p);
}

struct KernelRegistration {
  KernelRegistration(const char* op, Device::Kind kind, void* fn) { register_kernel(op, kind, fn); }
};

}  // namespace torl

#define TORL_CAT2(a, b) a##b
#define TORL_CAT(a, b) TORL_CAT2(a, b)
#define TORL_REGISTER_KERNEL(op, KIND, fn)                                                      \
  static const ::torl::KernelRegistration TORL_CAT(torl_kernel_reg_, __LINE__)(                 \
      #op, ::torl::Device::KIND, reinterpret_cast<void*>(static_cast<::torl::op##_t*>(&(fn))))
