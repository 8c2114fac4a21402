// Bindings: pagedAttention(q, kCache, vCache, blockTables, cuSeqlensQ, contextLens, {scale}) → out;
// kvCacheWrite(k, v, kCache, vCache, slotMapping) and kvCacheCopy(kCache, vCache, src, dst) → undefined
// (they write the caches in place).
#include "args.h"
#include "op_def.h"
#include "torl/attention.h"
#include "torl/paged_attention.h"

namespace torl::napi {

namespace {

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "pagedAttention", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "pagedAttention";
    const Tensor q = tensor_arg(info, 0, op, "q");
    const Tensor kc = tensor_arg(info, 1, op, "kCache");
    const Tensor vc = tensor_arg(info, 2, op, "vCache");
    const Tensor bt = tensor_arg(info, 3, op, "blockTables");
    const Tensor cu = tensor_arg(info, 4, op, "cuSeqlensQ");
    const Tensor cl = tensor_arg(info, 5, op, "contextLens");
    const double scale = opt_number(options_arg(info, 6, op), "scale", attention_default_scale(q), op);
    paged_attention_check(q, kc, vc, bt, cu, cl, scale);
    return [q, kc, vc, bt, cu, cl, scale] { return OpResult::one(paged_attention_forward(q, kc, vc, bt, cu, cl, scale)); };
  });
  def_op(env, exports, "kvCacheWrite", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "kvCacheWrite";
    const Tensor k = tensor_arg(info, 0, op, "k");
    const Tensor v = tensor_arg(info, 1, op, "v");
    const Tensor kc = tensor_arg(info, 2, op, "kCache");
    const Tensor vc = tensor_arg(info, 3, op, "vCache");
    const Tensor slots = tensor_arg(info, 4, op, "slotMapping");
    kv_cache_write_check(k, v, kc, vc, slots);
    return [k, v, kc, vc, slots] {
      kv_cache_write(k, v, kc, vc, slots);
      return OpResult::none();
    };
  });
  def_op(env, exports, "kvCacheCopy", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "kvCacheCopy";
    const Tensor kc = tensor_arg(info, 0, op, "kCache");
    const Tensor vc = tensor_arg(info, 1, op, "vCache");
    const Tensor src = tensor_arg(info, 2, op, "src");
    const Tensor dst = tensor_arg(info, 3, op, "dst");
    kv_cache_copy_check(kc, vc, src, dst);
    return [kc, vc, src, dst] {
      kv_cache_copy(kc, vc, src, dst);
      return OpResult::none();
    };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
