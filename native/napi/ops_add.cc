// Bindings: add(a, b, {alpha}) → a + alpha·b (a new tensor, a's dtype);
// addInPlace(dst, src, {alpha}) → undefined, dst += alpha·src (the async form
// resolves to undefined once dst is written). alpha defaults to 1.
#include "args.h"
#include "op_def.h"
#include "torl/add.h"

namespace torl::napi {

namespace {

struct AddArgs {
  Tensor x, y;
  double alpha;
};

// Both ops parse alike: two tensors named `xn`, `yn`, then {alpha}.
AddArgs add_args(const Napi::CallbackInfo& info, const char* op, const char* xn, const char* yn) {
  AddArgs a{tensor_arg(info, 0, op, xn), tensor_arg(info, 1, op, yn), 1.0};
  a.alpha = opt_number(options_arg(info, 2, op), "alpha", 1.0, op);
  return a;
}

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "add", [](const Napi::CallbackInfo& info) -> Compute {
    const AddArgs a = add_args(info, "add", "a", "b");
    add_check(a.x, a.y, a.alpha);
    return [a] { return OpResult::one(add_forward(a.x, a.y, a.alpha)); };
  });
  def_op(env, exports, "addInPlace", [](const Napi::CallbackInfo& info) -> Compute {
    const AddArgs a = add_args(info, "addInPlace", "dst", "src");
    add_inplace_check(a.x, a.y, a.alpha);
    return [a] {
      add_inplace(a.x, a.y, a.alpha);
      return OpResult::none();
    };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
