// Bindings: swiglu(gate, up) → y;  swigluBackward(dy, gate, up) → {dgate, dup}.
#include "args.h"
#include "op_def.h"
#include "torl/swiglu.h"

namespace torl::napi {

namespace {

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "swiglu", [](const Napi::CallbackInfo& info) -> Compute {
    const Tensor gate = tensor_arg(info, 0, "swiglu", "gate");
    const Tensor up = tensor_arg(info, 1, "swiglu", "up");
    swiglu_check(gate, up);
    return [gate, up] { return OpResult::one(swiglu_forward(gate, up)); };
  });
  def_op(env, exports, "swigluBackward", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "swigluBackward";
    const Tensor dy = tensor_arg(info, 0, op, "dy");
    const Tensor gate = tensor_arg(info, 1, op, "gate");
    const Tensor up = tensor_arg(info, 2, op, "up");
    swiglu_backward_check(dy, gate, up);
    return [dy, gate, up] {
      SwigluGrads g = swiglu_backward(dy, gate, up);
      OpResult res;
      res.add("dgate", std::move(g.dgate)).add("dup", std::move(g.dup));
      return res;
    };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
