// Bindings: rmsnorm(x, w, residual?, {eps}) → {y, s?, rstd};
// rmsnormBackward(dy, s, w, rstd, dresidual?) → {dx, dw}.
#include "args.h"
#include "op_def.h"
#include "torl/rmsnorm.h"

namespace torl::napi {

namespace {

constexpr double kQwen2Eps = 1e-6;

Tensor value_or_empty(const Tensor* t) { return t ? *t : Tensor{}; }
const Tensor* ptr_or_null(const Tensor& t) { return t.defined() ? &t : nullptr; }

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "rmsnorm", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "rmsnorm";
    const Tensor x = tensor_arg(info, 0, op, "x");
    const Tensor w = tensor_arg(info, 1, op, "w");
    const Tensor r = value_or_empty(optional_tensor_arg(info, 2, op, "residual"));
    const double eps = opt_number(options_arg(info, 3, op), "eps", kQwen2Eps, op);
    rmsnorm_check(x, w, ptr_or_null(r), eps);
    return [x, w, r, eps] {
      RmsnormOut o = rmsnorm_forward(x, w, ptr_or_null(r), eps);
      OpResult res;
      res.add("y", std::move(o.y)).add("s", std::move(o.s)).add("rstd", std::move(o.rstd));
      return res;
    };
  });
  def_op(env, exports, "rmsnormBackward", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "rmsnormBackward";
    const Tensor dy = tensor_arg(info, 0, op, "dy");
    const Tensor s = tensor_arg(info, 1, op, "s");
    const Tensor w = tensor_arg(info, 2, op, "w");
    const Tensor rstd = tensor_arg(info, 3, op, "rstd");
    const Tensor dr = value_or_empty(optional_tensor_arg(info, 4, op, "dresidual"));
    rmsnorm_backward_check(dy, s, w, rstd, ptr_or_null(dr));
    return [dy, s, w, rstd, dr] {
      RmsnormGrads g = rmsnorm_backward(dy, s, w, rstd, ptr_or_null(dr));
      OpResult res;
      res.add("dx", std::move(g.dx)).add("dw", std::move(g.dw));
      return res;
    };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
