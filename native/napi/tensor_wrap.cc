#include "tensor_wrap.h"

#include <cstring>

#include "torl/error.h"

namespace torl::napi {

namespace {

struct ClassData {
  Napi::FunctionReference ctor;
};

// One per JS thread: each worker_thread loading the addon has its own env.
ClassData*& class_data_slot() {
  static thread_local ClassData* data = nullptr;
  return data;
}

}  // namespace

void JsTensor::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "Tensor",
                                 {
                                     InstanceAccessor<&JsTensor::Shape>("shape"),
                                     InstanceAccessor<&JsTensor::DTypeName>("dtype"),
                                     InstanceAccessor<&JsTensor::DeviceName>("device"),
                                     InstanceAccessor<&JsTensor::Disposed>("disposed"),
                                     InstanceAccessor<&JsTensor::ByteLength>("byteLength"),
                                     InstanceMethod<&JsTensor::ToArray>("toArray"),
                                     InstanceMethod<&JsTensor::ToBytes>("toBytes"),
                                     InstanceMethod<&JsTensor::To>("to"),
                                     InstanceMethod<&JsTensor::Dispose>("dispose"),
                                 });
  auto* data = new ClassData{Napi::Persistent(f)};
  class_data_slot() = data;
  env.AddCleanupHook([data] { delete data; });
  exports.Set("Tensor", f);
}

Napi::Object JsTensor::New(Napi::Env env, Tensor t) {
  auto* holder = new Tensor(std::move(t));
  Napi::Object o = class_data_slot()->ctor.New({Napi::External<Tensor>::New(env, holder)});
  delete holder;  // the constructor moved the tensor out
  return o;
}

bool JsTensor::IsInstance(Napi::Value v) {
  return v.IsObject() && v.As<Napi::Object>().InstanceOf(class_data_slot()->ctor.Value());
}

JsTensor::JsTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsTensor>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    fail("Tensor cannot be constructed directly: use torl.tensor(), torl.zeros() or torl.empty()");
  t_ = std::move(*info[0].As<Napi::External<Tensor>>().Data());
}

const Tensor& JsTensor::From(Napi::Value v, const char* op, const char* name) {
  if (!IsInstance(v)) fail(op, ": ", name, " must be a Tensor");
  const Tensor& t = Unwrap(v.As<Napi::Object>())->t_;
  if (!t.defined()) fail(op, ": ", name, " has been disposed");
  return t;
}

const Tensor& JsTensor::live(const char* what) const {
  if (!t_.defined()) fail("Tensor.", what, ": the tensor has been disposed");
  return t_;
}

Napi::Value JsTensor::Shape(const Napi::CallbackInfo& info) {
  const Tensor& t = live("shape");
  Napi::Array a = Napi::Array::New(info.Env(), t.shape.size());
  for (size_t i = 0; i < t.shape.size(); ++i) a.Set(i, Napi::Number::New(info.Env(), static_cast<double>(t.shape[i])));
  return a;
}

Napi::Value JsTensor::DTypeName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), dtype_name(live("dtype").dtype));
}

Napi::Value JsTensor::DeviceName(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), live("device").device().str());
}

Napi::Value JsTensor::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !t_.defined());
}

Napi::Value JsTensor::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live("byteLength").nbytes()));
}

// dst ← t's bytes. An empty tensor has no storage (null data), and memcpy from null is
// undefined even for 0 bytes (UBSan), so nothing is copied then.
static void copy_out(void* dst, const Tensor& t) {
  if (t.nbytes()) std::memcpy(dst, t.data(), t.nbytes());
}

// Host copy of t (t itself when it is already on the host).
static Tensor on_host(const Tensor& t) { return t.device().is_cpu() ? t : to_device(t, Device{}); }

Napi::Value JsTensor::ToArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Tensor h = on_host(live("toArray"));
  const size_t n = static_cast<size_t>(h.numel());
  switch (h.dtype) {
    case DType::F32: {
      auto a = Napi::Float32Array::New(env, n);
      copy_out(a.Data(), h);
      return a;
    }
    case DType::BF16:
    case DType::F16: {
      auto a = Napi::Float32Array::New(env, n);
      const Tensor f = to_dtype(h, DType::F32);
      copy_out(a.Data(), f);
      return a;
    }
    case DType::I32: {
      auto a = Napi::Int32Array::New(env, n);
      copy_out(a.Data(), h);
      return a;
    }
    case DType::I64: {
      auto a = Napi::TypedArrayOf<int64_t>::New(env, n, napi_bigint64_array);
      copy_out(a.Data(), h);
      return a;
    }
    case DType::U8: {
      auto a = Napi::Uint8Array::New(env, n);
      copy_out(a.Data(), h);
      return a;
    }
  }
  return env.Undefined();
}

Napi::Value JsTensor::ToBytes(const Napi::CallbackInfo& info) {
  const Tensor h = on_host(live("toBytes"));
  auto a = Napi::Uint8Array::New(info.Env(), h.nbytes());
  copy_out(a.Data(), h);
  return a;
}

Napi::Value JsTensor::To(const Napi::CallbackInfo& info) {
  const Tensor& t = live("to");
  if (info.Length() < 1 || !info[0].IsString()) fail("Tensor.to: expects a device name ('cpu', 'cuda', 'cuda:N')");
  const Device d = Device::parse(info[0].As<Napi::String>().Utf8Value());
  return New(info.Env(), to_device(t, d));
}

Napi::Value JsTensor::Dispose(const Napi::CallbackInfo& info) {
  t_ = Tensor{};
  return info.Env().Undefined();
}

}  // namespace torl::napi
