// Bindings:
//   lmHeadLogprob(hidden, weight, targets, {temperature}) → {logprob, entropy, lse, scratchBytes}
//   lmHeadLogprobBackward(dlogprob?, dentropy?, hidden, weight, targets, lse, entropy, {temperature})
//     → {dhidden, dweight, scratchBytes}
//   crossEntropy(hidden, weight, targets, mask?, {temperature, grad}) → {loss, count, dhidden?, dweight?, scratchBytes}
#include "args.h"
#include "op_def.h"
#include "torl/lm_head.h"

namespace torl::napi {

namespace {

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "lmHeadLogprob", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "lmHeadLogprob";
    const Tensor h = tensor_arg(info, 0, op, "hidden");
    const Tensor w = tensor_arg(info, 1, op, "weight");
    const Tensor ids = tensor_arg(info, 2, op, "targets");
    const double temp = opt_number(options_arg(info, 3, op), "temperature", 1.0, op);
    lm_head_logprob_check(h, w, ids, temp);
    return [h, w, ids, temp] {
      LmHeadOut o = lm_head_logprob_forward(h, w, ids, temp);
      OpResult r;
      r.add("logprob", std::move(o.logprob)).add("entropy", std::move(o.entropy)).add("lse", std::move(o.lse));
      r.add("scratchBytes", static_cast<double>(o.scratch_bytes));
      return r;
    };
  });
  def_op(env, exports, "lmHeadLogprobBackward", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "lmHeadLogprobBackward";
    const Tensor gl = held(optional_tensor_arg(info, 0, op, "dlogprob"));
    const Tensor gh = held(optional_tensor_arg(info, 1, op, "dentropy"));
    const Tensor h = tensor_arg(info, 2, op, "hidden");
    const Tensor w = tensor_arg(info, 3, op, "weight");
    const Tensor ids = tensor_arg(info, 4, op, "targets");
    const Tensor lse = tensor_arg(info, 5, op, "lse");
    const Tensor ent = tensor_arg(info, 6, op, "entropy");
    const double temp = opt_number(options_arg(info, 7, op), "temperature", 1.0, op);
    lm_head_logprob_backward_check(maybe(gl), maybe(gh), h, w, ids, lse, ent, temp);
    return [gl, gh, h, w, ids, lse, ent, temp] {
      LmHeadGrads g = lm_head_logprob_backward(maybe(gl), maybe(gh), h, w, ids, lse, ent, temp);
      OpResult r;
      r.add("dhidden", std::move(g.dhidden)).add("dweight", std::move(g.dweight));
      r.add("scratchBytes", static_cast<double>(g.scratch_bytes));
      return r;
    };
  });
  def_op(env, exports, "crossEntropy", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "crossEntropy";
    const Tensor h = tensor_arg(info, 0, op, "hidden");
    const Tensor w = tensor_arg(info, 1, op, "weight");
    const Tensor ids = tensor_arg(info, 2, op, "targets");
    const Tensor mask = held(optional_tensor_arg(info, 3, op, "mask"));
    const Napi::Object o = options_arg(info, 4, op);
    const double temp = opt_number(o, "temperature", 1.0, op);
    const bool grad = opt_bool(o, "grad", true, op);
    cross_entropy_check(h, w, ids, maybe(mask), temp);
    return [h, w, ids, mask, temp, grad] {
      CrossEntropyOut c = cross_entropy(h, w, ids, maybe(mask), temp, grad);
      OpResult r;
      r.add("loss", c.loss).add("count", c.count).add("scratchBytes", static_cast<double>(c.scratch_bytes));
      r.add("dhidden", std::move(c.dhidden)).add("dweight", std::move(c.dweight));
      return r;
    };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
