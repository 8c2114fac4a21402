// Binding: sample(logits, {temperature, topK, topP, minP, seed, offset}) → {ids, logprob, tempLogprob}.
// Each option is a number (every row) or an array / TypedArray with one entry per row.
#include <cmath>
#include <vector>

#include "args.h"
#include "op_def.h"
#include "torl/error.h"
#include "torl/sample.h"

namespace torl::napi {

namespace {

// o[key] for each of B rows: a number broadcast, or one entry per row.
std::vector<double> per_row(const Napi::Object& o, const char* key, size_t B, double def, const char* op) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return std::vector<double>(B, def);
  if (v.IsNumber()) return std::vector<double>(B, opt_number(o, key, def, op));
  if (!v.IsArray() && !v.IsTypedArray())
    fail(op, ": option ", key, " must be a number or an array with one number per row");
  const Napi::Object a = v.As<Napi::Object>();
  const size_t n = v.IsArray() ? v.As<Napi::Array>().Length() : v.As<Napi::TypedArray>().ElementLength();
  TORL_CHECK(n == B, op, ": option ", key, " has ", n, " entries but logits has ", B, " rows");
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
std::vector<T> per_row_int(const Napi::Object& o, const char* key, size_t B, double def, const char* op) {
  const std::vector<double> d = per_row(o, key, B, def, op);
  std::vector<T> out(B);
  for (size_t b = 0; b < B; ++b) {
    TORL_CHECK(d[b] >= 0 && d[b] == std::floor(d[b]) && d[b] <= 9007199254740991.0, op, ": option ", key, "[", b,
               "] must be a non-negative integer, got ", d[b]);
    out[b] = static_cast<T>(d[b]);
  }
  return out;
}

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "sample", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "sample";
    const Tensor logits = tensor_arg(info, 0, op, "logits");
    const Napi::Object o = options_arg(info, 1, op);
    TORL_CHECK(logits.ndim() == 2, op, ": logits must be 2-D [B, V], got shape ", logits.shape_str());
    const size_t B = static_cast<size_t>(logits.dim(0));
    SampleParams p;
    p.temperature = per_row(o, "temperature", B, 1.0, op);
    p.top_k = per_row_int<int64_t>(o, "topK", B, 0, op);
    p.top_p = per_row(o, "topP", B, 1.0, op);
    p.min_p = per_row(o, "minP", B, 0.0, op);
    p.seed = per_row_int<uint64_t>(o, "seed", B, 0, op);
    p.offset = per_row_int<uint64_t>(o, "offset", B, 0, op);
    sample_check(logits, p);
    return [logits, p] {
      SampleOut s = sample(logits, p);
      OpResult r;
      r.add("ids", std::move(s.ids)).add("logprob", std::move(s.logprob)).add("tempLogprob", std::move(s.temp_logprob));
      return r;
    };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
