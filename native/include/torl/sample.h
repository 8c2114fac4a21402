// sample — one token per row of logits [B, V], each row with its own
// temperature, top-k, top-p, min-p, seed and offset, in one pass per row
// (row max and Σ exp, a candidate set found by thresholds rather than a full
// sort of V, an inverse-CDF walk). The uniform draw of row b is
// philox_uniform(seed[b], offset[b]) (philox.h): a row's token depends only on
// its own logits and options, never on which other rows share the batch.
//
// The distribution sampled, in vLLM's order: z = logits / temperature; keep the
// top_k largest (ties broken toward the lower id); of those keep the smallest
// prefix, by decreasing probability, whose renormalised mass reaches top_p;
// then drop tokens whose probability is below min_p · (the largest one).
// temperature 0 is greedy (the lowest id among equal maxima).
//
// Returns the ids, their log-prob under the distribution actually sampled (after
// truncation and renormalisation; 0 for greedy) and under the temperature-only
// distribution log softmax(z) (for greedy rows, softmax(logits) at temperature 1).
#pragma once
#include <cstdint>
#include <vector>

#include "torl/tensor.h"

namespace torl {

// One entry per row (length B).
struct SampleParams {
  std::vector<double> temperature;  // ≥ 0
  std::vector<int64_t> top_k;       // ≥ 0; 0 (or ≥ V) = no top-k
  std::vector<double> top_p;        // (0, 1]; 1 = no top-p
  std::vector<double> min_p;        // [0, 1); 0 = no min-p
  std::vector<uint64_t> seed;       // < 2^53 (JS numbers)
  std::vector<uint64_t> offset;     // the Philox counter: advance it per draw (e.g. the token position)
};

struct SampleOut {
  Tensor ids;           // [B] i32
  Tensor logprob;       // [B] f32, under the sampled (truncated) distribution
  Tensor temp_logprob;  // [B] f32, under the temperature-only distribution
};

// logits [B, V] f32|bf16.
void sample_check(const Tensor& logits, const SampleParams& p);
SampleOut sample(const Tensor& logits, const SampleParams& p);

using sample_t = SampleOut(const Tensor& logits, const SampleParams& p);

}  // namespace torl
