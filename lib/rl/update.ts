// The policy update of a GRPO step: log-probs recomputed when the rollout's cannot serve as
// the old policy's, then forward/backward of the GRPO loss over packed micro-batches (each
// normalised as the whole update) and one AdamW step.
import type { AdamW, GrpoLoss, Model, StepInfo } from '../model/index.js';
import type { TrainerConfig } from './config.js';
import { packSequences, responseValues, totals, type MicroBatch, type TrainSequence } from './pack.js';

/** veRL's actor statistics of one update (token means over the update's masked tokens). */
export interface UpdateStats {
  pgLoss: number;
  clipFraction: number;
  approxKl: number;
  entropy: number;
  klMean: number;
  gradNorm: number;
  lr: number;
  microBatches: number;
  tokens: number;
  /** The gradient norm was not finite: AdamW made no update. */
  skipped: boolean;
}

/** The GRPO loss of a micro-batch under the actor settings. */
export function grpoLossSpec(mb: MicroBatch, actor: TrainerConfig['actor'], temperature: number): GrpoLoss {
  return {
    type: 'grpo',
    oldLogprobs: mb.oldLogprobs,
    advantages: mb.advantages,
    refLogprobs: mb.refLogprobs,
    clipRatio: actor.clipRatio,
    dualClip: actor.dualClip,
    klCoef: actor.klCoef,
    klType: actor.klType,
    entropyCoef: actor.entropyCoef,
    aggregation: actor.aggregation,
    temperature,
  };
}

/** log-probs of every sequence's response tokens under `model` (aligned with tokenIds), micro-batch by micro-batch. */
export async function responseLogprobs(model: Model, seqs: readonly TrainSequence[], tokenBudget: number, temperature: number, onMicroBatch?: (done: number, total: number) => void): Promise<Float32Array[]> {
  const out: Float32Array[] = new Array(seqs.length);
  const micro = packSequences(seqs, tokenBudget);
  for (const [k, mb] of micro.entries()) {
    const { logprobs } = await model.logprobs(mb.batch, { temperature });
    responseValues(mb, seqs, logprobs).forEach((v, j) => (out[mb.sequences[j]!] = v));
    onMicroBatch?.(k + 1, micro.length);
  }
  return out;
}

/** One optimizer update over the sequences `which`: gradients of all their micro-batches, then AdamW. */
export async function policyUpdate(model: Model, optimizer: AdamW, seqs: readonly TrainSequence[], which: readonly number[], actor: TrainerConfig['actor'], temperature: number, onMicroBatch?: (done: number, total: number) => void): Promise<UpdateStats> {
  const micro = packSequences(seqs, actor.microBatchTokens, which);
  const normalizer = totals(micro);
  const s = { pgLoss: 0, clipFraction: 0, approxKl: 0, entropy: 0, klMean: 0 };
  optimizer.zeroGrad();
  for (const [k, mb] of micro.entries()) {
    if (normalizer.tokens > 0) {
      const { stats } = await model.forwardBackward(mb.batch, grpoLossSpec(mb, actor, temperature), { normalizer, recompute: actor.recompute });
      s.pgLoss += stats.pgLoss;
      s.clipFraction += stats.clipFraction;
      s.approxKl += stats.approxKl;
      s.entropy += stats.entropyMean;
      s.klMean += stats.klMean;
    }
    onMicroBatch?.(k + 1, micro.length);
  }
  const info: StepInfo = await optimizer.step();
  optimizer.zeroGrad();
  return { ...s, gradNorm: info.gradNorm, lr: info.lr, microBatches: micro.length, tokens: normalizer.tokens, skipped: info.skipped };
}
