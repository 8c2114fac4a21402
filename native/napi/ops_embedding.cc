// Bindings: embedding(ids, w) → y;  embeddingBackward(dy, ids, {vocabSize}) → dw.
#include "args.h"
#include "op_def.h"
#include "torl/embedding.h"

namespace torl::napi {

namespace {

void define(Napi::Env env, Napi::Object exports) {
  def_op(env, exports, "embedding", [](const Napi::CallbackInfo& info) -> Compute {
    const Tensor ids = tensor_arg(info, 0, "embedding", "ids");
    const Tensor w = tensor_arg(info, 1, "embedding", "w");
    embedding_check(ids, w);
    return [ids, w] { return OpResult::one(embedding_forward(ids, w)); };
  });
  def_op(env, exports, "embeddingBackward", [](const Napi::CallbackInfo& info) -> Compute {
    const char* op = "embeddingBackward";
    const Tensor dy = tensor_arg(info, 0, op, "dy");
    const Tensor ids = tensor_arg(info, 1, op, "ids");
    const int64_t vocab = opt_int(options_arg(info, 2, op), "vocabSize", 0, op);
    embedding_backward_check(dy, ids, vocab);
    return [dy, ids, vocab] { return OpResult::one(embedding_backward(dy, ids, vocab)); };
  });
}

const Register reg(define);

}  // namespace

}  // namespace torl::napi
