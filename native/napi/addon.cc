// Module entry: the Tensor class, tensor creation, backend information, the
// module-level classes (Qwen2Model) and every op family (each registers
// itself, see op_def.h).
#include <napi.h>

#include <cmath>
#include <cstring>

#include "args.h"
#include "async.h"
#include "op_def.h"
#include "tensor_wrap.h"
#include "torl/cuda.h"
#include "torl/error.h"
#include "torl/simd.h"
#include "torl/threadpool.h"

namespace torl::napi {

namespace {

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("threads", num_threads());
  cpu.Set("simd", simd_name(simd_level()));
  const cuda::Info& ci = cuda::info();
  Napi::Object cu = Napi::Object::New(env);
  cu.Set("compiled", ci.compiled);
  cu.Set("available", ci.available);
  if (!ci.available) cu.Set("reason", ci.reason);
  Napi::Array names = Napi::Array::New(env, ci.devices.size());
  for (size_t i = 0; i < ci.devices.size(); ++i) names.Set(i, ci.devices[i]);
  cu.Set("devices", names);
  cu.Set("cublasLt", ci.cublaslt);
  cu.Set("cublasLtPath", ci.cublaslt_path);
  if (ci.runtime_version) cu.Set("runtimeVersion", ci.runtime_version);
  if (ci.driver_version) cu.Set("driverVersion", ci.driver_version);
  Napi::Object o = Napi::Object::New(env);
  o.Set("cpu", cpu);
  o.Set("cuda", cu);
  return o;
}

Device device_arg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined()) return Device{};
  if (!info[i].IsString()) fail("device must be a string ('cpu', 'cuda', 'cuda:N')");
  return Device::parse(info[i].As<Napi::String>().Utf8Value());
}

DType dtype_arg(const Napi::CallbackInfo& info, size_t i, DType def) {
  if (i >= info.Length() || info[i].IsUndefined()) return def;
  if (!info[i].IsString()) fail("dtype must be a string (f32, bf16, f16, i32, i64, u8)");
  return dtype_from_name(info[i].As<Napi::String>().Utf8Value());
}

// The element type a typed array holds as-is; bf16/f16 travel as Uint16Array bits.
bool natural_dtype(napi_typedarray_type t, DType want, DType* out) {
  switch (t) {
    case napi_float32_array: *out = DType::F32; return true;
    case napi_int32_array: *out = DType::I32; return true;
    case napi_bigint64_array: *out = DType::I64; return true;
    case napi_uint8_array: *out = DType::U8; return true;
    case napi_uint16_array:
      if (want == DType::BF16 || want == DType::F16) { *out = want; return true; }
      return false;
    default: return false;
  }
}

// Stores v as element i of t, refusing values the dtype cannot hold exactly when integral.
void store_checked(const Tensor& t, int64_t i, double v) {
  auto integral = [&](double lo, double hi) {
    if (!(v == std::floor(v) && v >= lo && v <= hi))
      fail("tensor: data[", i, "] = ", v, " cannot be stored exactly as ", dtype_name(t.dtype));
  };
  switch (t.dtype) {
    case DType::F32: t.ptr<float>()[i] = static_cast<float>(v); break;
    case DType::BF16: t.ptr<uint16_t>()[i] = f32_to_bf16(static_cast<float>(v)); break;
    case DType::F16: t.ptr<uint16_t>()[i] = f32_to_f16(static_cast<float>(v)); break;
    case DType::I32: integral(-2147483648.0, 2147483647.0); t.ptr<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::I64: integral(-9007199254740992.0, 9007199254740992.0); t.ptr<int64_t>()[i] = static_cast<int64_t>(v); break;
    case DType::U8: integral(0, 255); t.ptr<uint8_t>()[i] = static_cast<uint8_t>(v); break;
  }
}

double load_typed(napi_typedarray_type t, const void* p, size_t i) {
  switch (t) {
    case napi_int8_array: return static_cast<const int8_t*>(p)[i];
    case napi_uint8_array:
    case napi_uint8_clamped_array: return static_cast<const uint8_t*>(p)[i];
    case napi_int16_array: return static_cast<const int16_t*>(p)[i];
    case napi_uint16_array: return static_cast<const uint16_t*>(p)[i];
    case napi_int32_array: return static_cast<const int32_t*>(p)[i];
    case napi_uint32_array: return static_cast<const uint32_t*>(p)[i];
    case napi_float32_array: return static_cast<const float*>(p)[i];
    case napi_float64_array: return static_cast<const double*>(p)[i];
    case napi_bigint64_array: return static_cast<double>(static_cast<const int64_t*>(p)[i]);
    case napi_biguint64_array: return static_cast<double>(static_cast<const uint64_t*>(p)[i]);
    default: return NAN;
  }
}

// fromArray(data, shape, dtype?, device?, copy = true)
Napi::Value FromArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2) fail("tensor: expects (data, shape)");
  const Shape shape = shape_arg(info[1], "tensor", "shape");
  const Device device = device_arg(info, 3);
  const bool copy = info.Length() < 5 || !info[4].IsBoolean() || info[4].As<Napi::Boolean>().Value();
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;

  if (info[0].IsArray()) {
    Napi::Array a = info[0].As<Napi::Array>();
    const DType dtype = dtype_arg(info, 2, DType::F32);
    if (a.Length() != static_cast<uint64_t>(numel))
      fail("tensor: data has ", a.Length(), " elements but shape ", shape_str(shape), " needs ", numel);
    if (!copy) fail("tensor: only a TypedArray can be borrowed (copy: false); got a plain array");
    Tensor t = empty(shape, dtype, Device{});
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value e = a.Get(i);
      if (!e.IsNumber()) fail("tensor: data[", i, "] is not a number");
      store_checked(t, i, e.As<Napi::Number>().DoubleValue());
    }
    return JsTensor::New(env, device.is_cpu() ? t : to_device(t, device));
  }
  if (!info[0].IsTypedArray()) fail("tensor: data must be a TypedArray or an array of numbers");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const napi_typedarray_type tt = ta.TypedArrayType();
  DType natural = DType::F32;
  const bool has_natural = natural_dtype(tt, info.Length() > 2 && info[2].IsString()
                                                   ? dtype_from_name(info[2].As<Napi::String>().Utf8Value())
                                                   : DType::F32,
                                         &natural);
  const DType dtype = dtype_arg(info, 2, has_natural ? natural : DType::F32);
  if (ta.ElementLength() != static_cast<size_t>(numel))
    fail("tensor: data has ", ta.ElementLength(), " elements but shape ", shape_str(shape), " needs ", numel);
  void* src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  const bool same = has_natural && natural == dtype;

  if (!copy) {
    if (!same) fail("tensor: cannot borrow (copy: false) a ", ta.ElementSize() * 8, "-bit TypedArray as ", dtype_name(dtype),
                    ": the element types differ");
    if (!device.is_cpu()) fail("tensor: cannot borrow (copy: false) host memory as a ", device.str(), " tensor");
    auto* ref = new Napi::ObjectReference(Napi::Persistent(info[0].As<Napi::Object>()));
    return JsTensor::New(env, borrow(src, shape, dtype, [ref](void*) { delete ref; }));
  }
  if (tt == napi_uint16_array && !same)
    fail("tensor: a Uint16Array holds bf16 or f16 bits; pass dtype 'bf16' or 'f16' (got ", dtype_name(dtype), ")");
  Tensor t = empty(shape, dtype, Device{});
  if (same) {
    if (t.nbytes()) std::memcpy(t.data(), src, t.nbytes());
  } else {
    for (int64_t i = 0; i < numel; ++i) store_checked(t, i, load_typed(tt, src, static_cast<size_t>(i)));
  }
  return JsTensor::New(env, device.is_cpu() ? t : to_device(t, device));
}

// fromBytes(bytes: Uint8Array, shape, dtype, device?) — raw little-endian element bytes.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  if (info.Length() < 3 || !info[0].IsTypedArray()) fail("fromBytes: expects (bytes: Uint8Array, shape, dtype)");
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) fail("fromBytes: bytes must be a Uint8Array");
  const Shape shape = shape_arg(info[1], "fromBytes", "shape");
  const DType dtype = dtype_arg(info, 2, DType::F32);
  const Device device = device_arg(info, 3);
  Tensor t = empty(shape, dtype, Device{});
  if (ta.ByteLength() != t.nbytes())
    fail("fromBytes: ", ta.ByteLength(), " bytes given but shape ", shape_str(shape), " of ", dtype_name(dtype),
         " needs ", t.nbytes());
  if (t.nbytes()) std::memcpy(t.data(), static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset(), t.nbytes());
  return JsTensor::New(info.Env(), device.is_cpu() ? t : to_device(t, device));
}

// empty(shape, dtype?, device?) / zeros(shape, dtype?, device?)
Napi::Value Empty(const Napi::CallbackInfo& info) {
  if (info.Length() < 1) fail("empty: expects (shape, dtype?, device?)");
  return JsTensor::New(info.Env(), empty(shape_arg(info[0], "empty", "shape"), dtype_arg(info, 1, DType::F32),
                                         device_arg(info, 2)));
}

Napi::Value Zeros(const Napi::CallbackInfo& info) {
  if (info.Length() < 1) fail("zeros: expects (shape, dtype?, device?)");
  return JsTensor::New(info.Env(), zeros(shape_arg(info[0], "zeros", "shape"), dtype_arg(info, 1, DType::F32),
                                         device_arg(info, 2)));
}

// synchronize(device?) — waits for the device's queued work (no-op on the CPU).
Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  const Device d = device_arg(info, 0);
  if (d.is_cuda()) {
    cuda::require(d, "synchronize");
    cuda::synchronize(d.index);
  }
  return info.Env().Undefined();
}

// memoryInfo(device) — {free, total} bytes of a GPU (free includes torl's cached blocks).
Napi::Value MemoryInfo(const Napi::CallbackInfo& info) {
  const Device d = device_arg(info, 0);
  TORL_CHECK(d.is_cuda(), "memoryInfo: expects a CUDA device, got ", d.str());
  cuda::require(d, "memoryInfo");
  const cuda::MemoryInfo m = cuda::memory_info(d.index);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("free", static_cast<double>(m.free));
  o.Set("total", static_cast<double>(m.total));
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  JsTensor::Init(env, exports);
  init_runner(env);
  exports.Set("backends", Napi::Function::New(env, Backends, "backends"));
  exports.Set("fromArray", Napi::Function::New(env, FromArray, "fromArray"));
  exports.Set("fromBytes", Napi::Function::New(env, FromBytes, "fromBytes"));
  exports.Set("empty", Napi::Function::New(env, Empty, "empty"));
  exports.Set("zeros", Napi::Function::New(env, Zeros, "zeros"));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize, "synchronize"));
  exports.Set("memoryInfo", Napi::Function::New(env, MemoryInfo, "memoryInfo"));
  register_exports(env, exports);  // module-level classes (Qwen2Model)
  Napi::Object ops = Napi::Object::New(env);  // every op family registers into torl.ops
  register_all(env, ops);
  exports.Set("ops", ops);
  return exports;
}

}  // namespace

}  // namespace torl::napi

static Napi::Object InitTorl(Napi::Env env, Napi::Object exports) { return torl::napi::Init(env, exports); }

NODE_API_MODULE(torl, InitTorl)
