#include "op_def.h"

#include <vector>

#include "async.h"
#include "tensor_wrap.h"

namespace torl::napi {

Napi::Value OpResult::to_js(Napi::Env env) const {
  if (nothing) return env.Undefined();
  if (single) return JsTensor::New(env, tensors.at(0).second);
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, t] : tensors) o.Set(k, JsTensor::New(env, t));
  for (const auto& [k, v] : numbers) o.Set(k, Napi::Number::New(env, v));
  return o;
}

void def_op(Napi::Env env, Napi::Object exports, const std::string& name, Binder bind) {
  exports.Set(name, Napi::Function::New(
                        env, [bind](const Napi::CallbackInfo& info) -> Napi::Value {
                          return bind(info)().to_js(info.Env());
                        },
                        name));
  exports.Set(name + "Async", Napi::Function::New(
                                  env, [bind](const Napi::CallbackInfo& info) -> Napi::Value {
                                    return run_async(info.Env(), bind(info));
                                  },
                                  name + "Async"));
}

namespace {

// The two registration lists, filled at load time (function-local statics, so
// the order of static initialisation across files does not matter).
enum List { kOps, kExports };
std::vector<Registrar>& registrars(List l) {
  static std::vector<Registrar> r[2];
  return r[l];
}

void run(List l, Napi::Env env, Napi::Object target) {
  for (Registrar r : registrars(l)) r(env, target);
}

}  // namespace

Register::Register(Registrar r) { registrars(kOps).push_back(r); }
RegisterExport::RegisterExport(Registrar r) { registrars(kExports).push_back(r); }

void register_all(Napi::Env env, Napi::Object ops) { run(kOps, env, ops); }
void register_exports(Napi::Env env, Napi::Object exports) { run(kExports, env, exports); }

}  // namespace torl::napi
