// Bindings (tensors updated in place):
//   adamw(params[], grads[], m[], v[], {step, lr, beta1, beta2, eps, weightDecay, master[]}) → {}
//   gradNorm(grads[]) → {norm}
//   clipGradNorm(grads[], {maxNorm}) → {norm}   (the norm before clipping)
#include "args.h"
#include "op_def.h"
#include "torl/adamw.h"
#include "torl/error.h"

namespace torl::napi {

namespace {

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "adamw", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "adamw";
    std::vector<Tensor> params = tensor_list_arg(info, 0, op, "params");
    std::vector<Tensor> grads = tensor_list_arg(info, 1, op, "grads");
    std::vector<Tensor> m = tensor_list_arg(info, 2, op, "m");
    std::vector<Tensor> v = tensor_list_arg(info, 3, op, "v");
    const Napi::Object opts = options_arg(info, 4, op);
    std::vector<Tensor> master = opt_tensor_list(opts, "master", op);
    AdamWOptions o;
    o.step = opt_int(opts, "step", 0, op);
    o.lr = opt_number(opts, "lr", o.lr, op);
    o.beta1 = opt_number(opts, "beta1", o.beta1, op);
    o.beta2 = opt_number(opts, "beta2", o.beta2, op);
    o.eps = opt_number(opts, "eps", o.eps, op);
    o.weight_decay = opt_number(opts, "weightDecay", o.weight_decay, op);
    adamw_check(params, grads, m, v, master, o);
    return [params, grads, m, v, master, o] {
      adamw_step(params, grads, m, v, master, o);
      return OpResult{};
    };
  });
  def_op(env, exports, "gradNorm", [](const Napi::CallbackInfo& info) -> Compute {
    std::vector<Tensor> grads = tensor_list_arg(info, 0, "gradNorm", "grads");
    grad_norm_check(grads, "gradNorm");
    return [grads] { return OpResult{}.add("norm", grad_norm(grads)); };
  });
  def_op(env, exports, "clipGradNorm", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "clipGradNorm";
    std::vector<Tensor> grads = tensor_list_arg(info, 0, op, "grads");
    const Napi::Object o = options_arg(info, 1, op);
    TORL_CHECK(!o.Get("maxNorm").IsUndefined(), op, ": option maxNorm is required");
    const double max_norm = opt_number(o, "maxNorm", 0, op);
    clip_grad_norm_check(grads, max_norm);
    return [grads, max_norm] { return OpResult{}.add("norm", clip_grad_norm(grads, max_norm)); };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
