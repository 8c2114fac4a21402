// Argument parsing shared by every op binding: positional tensors, and one
// options object whose fields are read with defaults. Every failure is a
// torl::Error naming the op and the argument.
#pragma once
#include <napi.h>

#include <optional>
#include <string>
#include <vector>

#include "tensor_wrap.h"
#include "torl/sample.h"

namespace torl::napi {

// info[i] as a tensor (required).
const Tensor& tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// info[i] as a tensor, or nullptr when undefined/null.
const Tensor* optional_tensor_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// info[i] as an options object ({} when undefined).
Napi::Object options_arg(const Napi::CallbackInfo& info, size_t i, const char* op);

double opt_number(const Napi::Object& o, const char* key, double def, const char* op);
int64_t opt_int(const Napi::Object& o, const char* key, int64_t def, const char* op);
bool opt_bool(const Napi::Object& o, const char* key, bool def, const char* op);
std::optional<std::string> opt_string(const Napi::Object& o, const char* key, const char* op);
const Tensor* opt_tensor(const Napi::Object& o, const char* key, const char* op);

// info[i] as an array of tensors (required; may be empty). Errors name the element: "grads[3]".
std::vector<Tensor> tensor_list_arg(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name);
// o[key] as an array of tensors, or an empty list when undefined/null.
std::vector<Tensor> opt_tensor_list(const Napi::Object& o, const char* key, const char* op);

// Optional tensors captured by value: an undefined Tensor stands for "absent".
inline Tensor held(const Tensor* t) { return t ? *t : Tensor{}; }
inline const Tensor* maybe(const Tensor& t) { return t.defined() ? &t : nullptr; }

// Sampling options {temperature, topK, topP, minP, seed, offset} for B rows: each a number (every
// row) or an array / TypedArray of B entries; `rows` names what the rows are of, for errors.
SampleParams sample_params_arg(const Napi::Object& o, size_t B, const char* rows, const char* op);

// A JS array of non-negative integers → Shape (checked).
Shape shape_arg(Napi::Value v, const char* op, const char* name);

}  // namespace torl::napi
