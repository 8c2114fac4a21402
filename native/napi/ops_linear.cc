// Bindings: linear(x, w, bias?) → y;  linearBackward(dy, x, w, {bias}) → {dx, dw, db?}.
#include "args.h"
#include "op_def.h"
#include "torl/linear.h"

namespace torl::napi {

namespace {

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "linear", [](const Napi::CallbackInfo& info) -> Compute {
    const Tensor x = tensor_arg(info, 0, "linear", "x");
    const Tensor w = tensor_arg(info, 1, "linear", "w");
    const Tensor* b = optional_tensor_arg(info, 2, "linear", "bias");
    const Tensor bias = b ? *b : Tensor{};
    linear_check(x, w, b);
    return [x, w, bias] { return OpResult::one(linear_forward(x, w, bias.defined() ? &bias : nullptr)); };
  });
  def_op(env, exports, "linearBackward", [](const Napi::CallbackInfo& info) -> Compute {
    const Tensor dy = tensor_arg(info, 0, "linearBackward", "dy");
    const Tensor x = tensor_arg(info, 1, "linearBackward", "x");
    const Tensor w = tensor_arg(info, 2, "linearBackward", "w");
    const bool bias = opt_bool(options_arg(info, 3, "linearBackward"), "bias", false, "linearBackward");
    linear_backward_check(dy, x, w);
    return [dy, x, w, bias] {
      LinearGrads g = linear_backward(dy, x, w, bias);
      OpResult r;
      r.add("dx", std::move(g.dx)).add("dw", std::move(g.dw)).add("db", std::move(g.db));
      return r;
    };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
