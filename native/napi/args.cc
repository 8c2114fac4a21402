#include "args.h"

#include <cmath>

#include "torl/error.h"

namespace torl::napi {

const Tensor& tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i >= info.Length() || info[i].IsUndefined()) fail(op, ": missing argument ", name, " (a Tensor)");
  return JsTensor::From(info[i], op, name);
}

const Tensor* optional_tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i >= info.Length() || info[i].IsUndefined() || info[i].IsNull()) return nullptr;
  return &JsTensor::From(info[i], op, name);
}

Napi::Object options_arg(const Napi::CallbackInfo& info, size_t i, const char* op) {
  if (i >= info.Length() || info[i].IsUndefined()) return Napi::Object::New(info.Env());
  if (!info[i].IsObject() || info[i].IsArray()) fail(op, ": the options argument must be an object");
  return info[i].As<Napi::Object>();
}

double opt_number(const Napi::Object& o, const char* key, double def, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) fail(op, ": option ", key, " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) fail(op, ": option ", key, " must be finite, got ", d);
  return d;
}

int64_t opt_int(const Napi::Object& o, const char* key, int64_t def, const char* op) {
  const double d = opt_number(o, key, static_cast<double>(def), op);
  if (d != std::floor(d) || std::fabs(d) > 9007199254740991.0) fail(op, ": option ", key, " must be an integer, got ", d);
  return static_cast<int64_t>(d);
}

bool opt_bool(const Napi::Object& o, const char* key, bool def, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsBoolean()) fail(op, ": option ", key, " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::optional<std::string> opt_string(const Napi::Object& o, const char* key, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return std::nullopt;
  if (!v.IsString()) fail(op, ": option ", key, " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

const Tensor* opt_tensor(const Napi::Object& o, const char* key, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  return &JsTensor::From(v, op, key);
}

static std::vector<Tensor> tensor_list(Napi::Value v, const char* op, const char* name) {
  if (!v.IsArray()) fail(op, ": ", name, " must be an array of Tensors");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<Tensor> out;
  out.reserve(a.Length());
  for (uint32_t k = 0; k < a.Length(); ++k) {
    const std::string el = std::string(name) + "[" + std::to_string(k) + "]";
    out.push_back(JsTensor::From(a.Get(k), op, el.c_str()));
  }
  return out;
}

std::vector<Tensor> tensor_list_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  if (i >= info.Length() || info[i].IsUndefined()) fail(op, ": missing argument ", name, " (an array of Tensors)");
  return tensor_list(info[i], op, name);
}

std::vector<Tensor> opt_tensor_list(const Napi::Object& o, const char* key, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return {};
  return tensor_list(v, op, key);
}

Shape shape_arg(Napi::Value v, const char* op, const char* name) {
  if (!v.IsArray()) fail(op, ": ", name, " must be an array of dimension sizes");
  Napi::Array a = v.As<Napi::Array>();
  Shape s;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d) || d < 0 || d != std::floor(d))
      fail(op, ": ", name, "[", i, "] must be a non-negative integer, got ", e.ToString().Utf8Value());
    s.push_back(static_cast<int64_t>(d));
  }
  check_shape(s, op);
  return s;
}

namespace {

// o[key] for each of B rows: a number broadcast, or one entry per row.
std::vector<double> per_row(const Napi::Object& o, const char* key, size_t B, double def, const char* rows,
                            const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return std::vector<double>(B, def);
  if (v.IsNumber()) return std::vector<double>(B, opt_number(o, key, def, op));
  if (!v.IsArray() && !v.IsTypedArray())
    fail(op, ": option ", key, " must be a number or an array with one number per row");
  const Napi::Object a = v.As<Napi::Object>();
  const size_t n = v.IsArray() ? v.As<Napi::Array>().Length() : v.As<Napi::TypedArray>().ElementLength();
  TORL_CHECK(n == B, op, ": option ", key, " has ", n, " entries but ", rows, " has ", B, " rows");
  std::vector<double> out(B);
  for (size_t b = 0; b < B; ++b) {
    const Napi::Value e = a.Get(static_cast<uint32_t>(b));
    const double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
    TORL_CHECK(std::isfinite(d), op, ": option ", key, "[", b, "] must be a finite number");
    out[b] = d;
  }
  return out;
}

// Per-row non-negative integers (< 2^53, the exact range of JS numbers).
template <typename T>
std::vector<T> per_row_int(const Napi::Object& o, const char* key, size_t B, const char* rows, const char* op) {
  const std::vector<double> d = per_row(o, key, B, 0, rows, op);
  std::vector<T> out(B);
  for (size_t b = 0; b < B; ++b) {
    TORL_CHECK(d[b] >= 0 && d[b] == std::floor(d[b]) && d[b] <= 9007199254740991.0, op, ": option ", key, "[", b,
               "] must be a non-negative integer, got ", d[b]);
    out[b] = static_cast<T>(d[b]);
  }
  return out;
}

}  // namespace

SampleParams sample_params_arg(const Napi::Object& o, size_t B, const char* rows, const char* op) {
  SampleParams p;
  p.temperature = per_row(o, "temperature", B, 1.0, rows, op);
  p.top_k = per_row_int<int64_t>(o, "topK", B, rows, op);
  p.top_p = per_row(o, "topP", B, 1.0, rows, op);
  p.min_p = per_row(o, "minP", B, 0.0, rows, op);
  p.seed = per_row_int<uint64_t>(o, "seed", B, rows, op);
  p.offset = per_row_int<uint64_t>(o, "offset", B, rows, op);
  return p;
}

}  // namespace torl::napi
