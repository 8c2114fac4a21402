// embedding: argument validation and backend dispatch.
#include "torl/embedding.h"

#include "layer_checks.h"
#include "torl/registry.h"

namespace torl {

namespace {

// ids: [T] i32; on the host every value is checked against [0, vocab).
void check_ids(const Tensor& ids, int64_t vocab, const char* op) {
  checks::dtype_is(ids, DType::I32, op, "ids");
  TORL_CHECK(ids.ndim() == 1, op, ": ids must be 1-D [T], got shape ", ids.shape_str());
  if (!ids.device().is_cpu()) return;
  const int32_t* p = ids.ptr<int32_t>();
  for (int64_t t = 0; t < ids.dim(0); ++t)
    TORL_CHECK(p[t] >= 0 && p[t] < vocab, op, ": ids[", t, "] = ", p[t], " is outside the vocabulary [0, ", vocab,
               ")");
}

}  // namespace

void embedding_check(const Tensor& ids, const Tensor& w) {
  const char* op = "embedding";
  checks::floating(w, op, "w");
  TORL_CHECK(w.ndim() == 2, op, ": w must be 2-D [V, D], got shape ", w.shape_str());
  checks::same_device(w, "w", ids, "ids", op);
  check_ids(ids, w.dim(0), op);
  checks::usable_device(w, op);
}

Tensor embedding_forward(const Tensor& ids, const Tensor& w) {
  embedding_check(ids, w);
  return kernel<embedding_forward_t>("embedding_forward", w.device())(ids, w);
}

void embedding_backward_check(const Tensor& dy, const Tensor& ids, int64_t vocab) {
  const char* op = "embeddingBackward";
  checks::floating(dy, op, "dy");
  TORL_CHECK(vocab > 0, op, ": option vocabSize must be a positive integer (V, the rows of w), got ", vocab);
  TORL_CHECK(dy.ndim() == 2, op, ": dy must be 2-D [T, D], got shape ", dy.shape_str());
  checks::same_device(dy, "dy", ids, "ids", op);
  check_ids(ids, vocab, op);
  TORL_CHECK(ids.dim(0) == dy.dim(0), op, ": ids must be [", dy.dim(0), "] (T, the rows of dy), got ",
             ids.shape_str());
  checks::usable_device(dy, op);
}

Tensor embedding_backward(const Tensor& dy, const Tensor& ids, int64_t vocab) {
  embedding_backward_check(dy, ids, vocab);
  return kernel<embedding_backward_t>("embedding_backward", dy.device())(dy, ids, vocab);
}

}  // namespace torl
