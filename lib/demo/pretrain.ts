// Pretraining the demo's tiny base model: cross-entropy (Model.forwardBackward) with AdamW over
// packed batches of corpus documents, shuffled each epoch; only tokens marked as learned count.
import { AdamW, type Model } from '../model/index.js';
import { Rng } from './rng.js';

/** A training document: tokens, and for each token whether predicting it counts in the loss. */
export interface TrainDoc {
  tokens: number[];
  mask: number[];
}

export interface PretrainOptions {
  steps: number;
  /** Tokens per optimizer step (documents are packed whole up to this). */
  batchTokens: number;
  lr: number;
  warmupSteps: number;
  /** Cosine decay down to lr · minLrRatio. */
  minLrRatio: number;
  seed: number;
  onStep?: (step: number, steps: number, loss: number) => void;
}

/** Packed batches of whole documents over reshuffled epochs, forever. */
function* packedBatches(docs: readonly TrainDoc[], batchTokens: number, rng: Rng): Generator<{ tokens: Int32Array; cuSeqlens: Int32Array; mask: Float32Array }> {
  for (;;) {
    const order = docs.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    let picked: TrainDoc[] = [];
    let size = 0;
    for (const i of order) {
      const d = docs[i]!;
      if (size + d.tokens.length > batchTokens && picked.length > 0) {
        yield pack(picked, size);
        picked = [];
        size = 0;
      }
      picked.push(d);
      size += d.tokens.length;
    }
  }
}

/** One packed batch; the mask at position t weighs the prediction of token t + 1. */
function pack(docs: readonly TrainDoc[], size: number): { tokens: Int32Array; cuSeqlens: Int32Array; mask: Float32Array } {
  const tokens = new Int32Array(size);
  const mask = new Float32Array(size);
  const cuSeqlens = new Int32Array(docs.length + 1);
  let at = 0;
  docs.forEach((d, b) => {
    tokens.set(d.tokens, at);
    for (let t = 0; t + 1 < d.tokens.length; t++) mask[at + t] = d.mask[t + 1]!;
    at += d.tokens.length;
    cuSeqlens[b + 1] = at;
  });
  return { tokens, cuSeqlens, mask };
}

/** Train `model` in place; returns the loss of every step. */
export async function pretrain(model: Model, docs: readonly TrainDoc[], opts: PretrainOptions): Promise<number[]> {
  if (docs.length === 0) throw new Error('pretrain: no documents');
  const opt = new AdamW(model, {
    lr: opts.lr,
    weightDecay: 0,
    maxGradNorm: 1,
    schedule: { type: 'cosine', warmupSteps: opts.warmupSteps, totalSteps: opts.steps, minLr: opts.lr * opts.minLrRatio },
  });
  const batches = packedBatches(docs, opts.batchTokens, new Rng(opts.seed));
  const losses: number[] = [];
  for (let step = 1; step <= opts.steps; step++) {
    const { loss } = await model.forwardBackward(batches.next().value!, { type: 'crossEntropy' });
    await opt.step();
    opt.zeroGrad();
    losses.push(loss);
    opts.onStep?.(step, opts.steps, loss);
  }
  return losses;
}
