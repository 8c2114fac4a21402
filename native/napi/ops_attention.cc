// Bindings: attention(q, k, v, cuSeqlens, {scale}) → {out, lse};
// attentionBackward(dout, q, k, v, out, lse, cuSeqlens, {scale}) → {dq, dk, dv}.
#include "args.h"
#include "op_def.h"
#include "torl/attention.h"

namespace torl::napi {

namespace {

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "attention", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "attention";
    const Tensor q = tensor_arg(info, 0, op, "q");
    const Tensor k = tensor_arg(info, 1, op, "k");
    const Tensor v = tensor_arg(info, 2, op, "v");
    const Tensor cu = tensor_arg(info, 3, op, "cuSeqlens");
    const double scale = opt_number(options_arg(info, 4, op), "scale", attention_default_scale(q), op);
    attention_check(q, k, v, cu, scale);
    return [q, k, v, cu, scale] {
      AttentionOut o = attention_forward(q, k, v, cu, scale);
      OpResult res;
      res.add("out", std::move(o.out)).add("lse", std::move(o.lse));
      return res;
    };
  });
  def_op(env, exports, "attentionBackward", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "attentionBackward";
    const Tensor dout = tensor_arg(info, 0, op, "dout");
    const Tensor q = tensor_arg(info, 1, op, "q");
    const Tensor k = tensor_arg(info, 2, op, "k");
    const Tensor v = tensor_arg(info, 3, op, "v");
    const Tensor out = tensor_arg(info, 4, op, "out");
    const Tensor lse = tensor_arg(info, 5, op, "lse");
    const Tensor cu = tensor_arg(info, 6, op, "cuSeqlens");
    const double scale = opt_number(options_arg(info, 7, op), "scale", attention_default_scale(q), op);
    attention_backward_check(dout, q, k, v, out, lse, cu, scale);
    return [dout, q, k, v, out, lse, cu, scale] {
      AttentionGrads g = attention_backward(dout, q, k, v, out, lse, cu, scale);
      OpResult res;
      res.add("dq", std::move(g.dq)).add("dk", std::move(g.dk)).add("dv", std::move(g.dv));
      return res;
    };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
