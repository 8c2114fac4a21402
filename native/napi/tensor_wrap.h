// The JS Tensor class: a handle that holds one torl::Tensor. dispose() drops
// the handle's reference at once (an async op still running keeps its own).
#pragma once
#include <napi.h>

#include "torl/tensor.h"

namespace torl::napi {

class JsTensor : public Napi::ObjectWrap<JsTensor> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object New(Napi::Env env, Tensor t);
  static bool IsInstance(Napi::Value v);
  explicit JsTensor(const Napi::CallbackInfo& info);

  // The tensor inside, or a torl::Error naming `op` and `name` when the value
  // is not a Tensor or has been disposed.
  static const Tensor& From(Napi::Value v, const char* op, const char* name);

 private:
  Napi::Value Shape(const Napi::CallbackInfo& info);
  Napi::Value DTypeName(const Napi::CallbackInfo& info);
  Napi::Value DeviceName(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value ByteLength(const Napi::CallbackInfo& info);
  Napi::Value ToArray(const Napi::CallbackInfo& info);
  Napi::Value ToBytes(const Napi::CallbackInfo& info);
  Napi::Value To(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  const Tensor& live(const char* what) const;

  Tensor t_;
};

}  // namespace torl::napi
