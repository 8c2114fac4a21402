// Binding: sample(logits, {temperature, topK, topP, minP, seed, offset}) → {ids, logprob, tempLogprob}.
// Each option is a number (every row) or an array / TypedArray with one entry per row.
#include "args.h"
#include "op_def.h"
#include "torl/error.h"
#include "torl/sample.h"

namespace torl::napi {

namespace {

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "sample", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "sample";
    const Tensor logits = tensor_arg(info, 0, op, "logits");
    const Napi::Object o = options_arg(info, 1, op);
    TORL_CHECK(logits.ndim() == 2, op, ": logits must be 2-D [B, V], got shape ", logits.shape_str());
    const size_t B = static_cast<size_t>(logits.dim(0));
    const SampleParams p = sample_params_arg(o, B, "logits", op);
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
