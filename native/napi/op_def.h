// def_op: one definition gives an op both forms, `name(...)` (runs now, on
// the JS thread) and `nameAsync(...)` (runs on the compute runner, resolves a
// Promise). Arguments are parsed and validated on the JS thread in both
// cases, so bad input throws synchronously; only the computation moves.
#pragma once
#include <napi.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "torl/tensor.h"

namespace torl::napi {

// What an op returns: one tensor, or an object of named tensors and numbers.
struct OpResult {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::vector<std::pair<std::string, double>> numbers;
  bool single = false;  // return tensors[0] itself rather than an object
  bool nothing = false;  // return undefined (an op that only writes its inputs)

  static OpResult one(Tensor t) {
    OpResult r;
    r.tensors.emplace_back("", std::move(t));
    r.single = true;
    return r;
  }
  static OpResult none() {
    OpResult r;
    r.nothing = true;
    return r;
  }
  OpResult& add(std::string k, Tensor t) {
    if (t.defined()) tensors.emplace_back(std::move(k), std::move(t));
    return *this;
  }
  OpResult& add(std::string k, double v) {
    numbers.emplace_back(std::move(k), v);
    return *this;
  }
  Napi::Value to_js(Napi::Env env) const;
};

using Compute = std::function<OpResult()>;
// bind parses info (throwing on bad input) and returns the computation, which
// must capture what it needs by value (Tensors, numbers): it may run later,
// on another thread, after info is gone.
using Binder = std::function<Compute(const Napi::CallbackInfo&)>;

void def_op(Napi::Env env, Napi::Object exports, const std::string& name, Binder bind);

// Self-registration: each ops_*.cc file adds its ops at load time, so adding
// an op family touches no shared file. Two lists: `Register` for torl.ops (the
// op families), `RegisterExport` for the module itself (classes such as
// Qwen2Model). addon.cc's Init runs each list into its object.
using Registrar = void (*)(Napi::Env, Napi::Object);
struct Register {
  explicit Register(Registrar r);
};
struct RegisterExport {
  explicit RegisterExport(Registrar r);
};
// Runs every `Register` into `ops`.
void register_all(Napi::Env env, Napi::Object ops);
// Runs every `RegisterExport` into the module's `exports`.
void register_exports(Napi::Env env, Napi::Object exports);

}  // namespace torl::napi
