// The JS face of the native Qwen2 model (native/model/qwen2.h): one object
// holding the weights, gradients and activation buffers; a whole no-grad
// forward or forward + backward is one async call on the compute runner.
#pragma once
#include <napi.h>

#include <memory>

#include "../model/qwen2.h"

namespace torl::napi {

class JsModel : public Napi::ObjectWrap<JsModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit JsModel(const Napi::CallbackInfo& info);
  // The model inside (for native code sharing its weights, e.g. a generation engine).
  const std::shared_ptr<model::Qwen2>& model() const { return m_; }

 private:
  Napi::Value Specs(const Napi::CallbackInfo& info);
  Napi::Value SetWeight(const Napi::CallbackInfo& info);
  Napi::Value Weight(const Napi::CallbackInfo& info);
  Napi::Value CheckWeights(const Napi::CallbackInfo& info);
  Napi::Value Gradients(const Napi::CallbackInfo& info);
  Napi::Value ZeroGrad(const Napi::CallbackInfo& info);
  Napi::Value Logprobs(const Napi::CallbackInfo& info);
  Napi::Value ForwardBackward(const Napi::CallbackInfo& info);
  Napi::Value GenerateStep(const Napi::CallbackInfo& info);
  Napi::Value DeviceName(const Napi::CallbackInfo& info);
  Napi::Value DTypeName(const Napi::CallbackInfo& info);

  std::shared_ptr<model::Qwen2> m_;
};

}  // namespace torl::napi
