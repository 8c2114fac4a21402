// Bindings: rope(q, k, positions, {theta, inPlace}) → {q, k};
// ropeBackward(dq, dk, positions, {theta, inPlace}) → {dq, dk}.
#include "args.h"
#include "op_def.h"
#include "torl/rope.h"

namespace torl::napi {

namespace {

constexpr double kQwen25Theta = 1e6;

using RopeFn = RopeOut (*)(const Tensor&, const Tensor&, const Tensor&, double, bool);

// Both directions parse alike; `names` are the op and its two tensors.
Binder rope_binder(const char* op, const char* qn, const char* kn, RopeFn fn) {
  return [op, qn, kn, fn](const Napi::CallbackInfo& info) -> Compute {
    const Tensor q = tensor_arg(info, 0, op, qn);
    const Tensor k = tensor_arg(info, 1, op, kn);
    const Tensor pos = tensor_arg(info, 2, op, "positions");
    const Napi::Object o = options_arg(info, 3, op);
    const double theta = opt_number(o, "theta", kQwen25Theta, op);
    const bool in_place = opt_bool(o, "inPlace", false, op);
    rope_check(q, k, pos, theta, op);
    return [q, k, pos, theta, in_place, qn, kn, fn] {
      RopeOut r = fn(q, k, pos, theta, in_place);
      OpResult res;
      res.add(qn, std::move(r.q)).add(kn, std::move(r.k));
      return res;
    };
  };
}

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "rope", rope_binder("rope", "q", "k", rope_forward));
  def_op(env, exports, "ropeBackward", rope_binder("ropeBackward", "dq", "dk", rope_backward));
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
