// Responses → packed micro-batches for Model.forwardBackward: prompt + response per sequence,
// no padding. The position before each response token predicts it; the loss mask there is
// the rollout's (0 on tool-output tokens), and prompt positions never count.
import type { Batch } from '../model/index.js';

/** One response to train on; the per-token arrays are aligned with tokenIds. */
export interface TrainSequence {
  promptTokenIds: readonly number[];
  tokenIds: readonly number[];
  /** 1 where the token is the model's, 0 on tool output. */
  lossMask: Uint8Array;
  /** log-probs of the tokens under the rollout policy. */
  oldLogprobs: Float32Array;
  /** under the reference policy, when there is a KL term. */
  refLogprobs?: Float32Array;
  advantage: number;
}

export interface MicroBatch {
  /** tokens, cuSeqlens and the loss mask [T] (default targets: the next token). */
  batch: Batch & { mask: Float32Array };
  /** [T], at the position predicting each response token (0 elsewhere). */
  oldLogprobs: Float32Array;
  refLogprobs?: Float32Array;
  /** One per sequence [B]. */
  advantages: Float32Array;
  /** Indices of the sequences packed here, in order. */
  sequences: number[];
}

/** Σ mask and the sequence count over micro-batches: the normaliser of one update. */
export function totals(micro: readonly MicroBatch[]): { tokens: number; sequences: number } {
  let tokens = 0, sequences = 0;
  for (const m of micro) {
    for (let t = 0; t < m.batch.mask.length; t++) tokens += m.batch.mask[t]!;
    sequences += m.sequences.length;
  }
  return { tokens, sequences };
}

/** Pack `which` sequences (default all), in order, into micro-batches of at most `tokenBudget` tokens (a longer sequence goes alone). */
export function packSequences(seqs: readonly TrainSequence[], tokenBudget: number, which: readonly number[] = seqs.map((_, i) => i)): MicroBatch[] {
  const groups: number[][] = [];
  let group: number[] = [], used = 0;
  for (const i of which) {
    const len = seqs[i]!.promptTokenIds.length + seqs[i]!.tokenIds.length;
    if (group.length > 0 && used + len > tokenBudget) {
      groups.push(group);
      group = [];
      used = 0;
    }
    group.push(i);
    used += len;
  }
  if (group.length > 0) groups.push(group);
  return groups.map((idx) => pack(seqs, idx));
}

/** Per sequence of `mb`, the entries of a [T] array at its response positions (aligned with tokenIds). */
export function responseValues(mb: MicroBatch, seqs: readonly TrainSequence[], values: Float32Array): Float32Array[] {
  return mb.sequences.map((i, b) => {
    const start = mb.batch.cuSeqlens[b]! + seqs[i]!.promptTokenIds.length - 1;
    return values.slice(start, start + seqs[i]!.tokenIds.length);
  });
}

function pack(seqs: readonly TrainSequence[], idx: number[]): MicroBatch {
  const T = idx.reduce((a, i) => a + seqs[i]!.promptTokenIds.length + seqs[i]!.tokenIds.length, 0);
  const tokens = new Int32Array(T), mask = new Float32Array(T), oldLogprobs = new Float32Array(T);
  const withRef = idx.every((i) => seqs[i]!.refLogprobs !== undefined);
  const refLogprobs = withRef ? new Float32Array(T) : undefined;
  const cuSeqlens = new Int32Array(idx.length + 1);
  let at = 0;
  idx.forEach((i, b) => {
    const s = seqs[i]!;
    const P = s.promptTokenIds.length, R = s.tokenIds.length;
    if (P === 0) throw new Error(`packSequences: sequence ${i} has an empty prompt`);
    if (s.lossMask.length !== R || s.oldLogprobs.length !== R) throw new Error(`packSequences: sequence ${i} has ${R} tokens but ${s.lossMask.length} mask and ${s.oldLogprobs.length} log-prob entries`);
    tokens.set(s.promptTokenIds, at);
    tokens.set(s.tokenIds, at + P);
    for (let j = 0; j < R; j++) {
      const m = s.lossMask[j]!;
      mask[at + P + j - 1] = m;
      oldLogprobs[at + P + j - 1] = m ? s.oldLogprobs[j]! : 0;
      if (refLogprobs) refLogprobs[at + P + j - 1] = m ? s.refLogprobs![j]! : 0;
    }
    at += P + R;
    cuSeqlens[b + 1] = at;
  });
  return { batch: { tokens, cuSeqlens, mask }, oldLogprobs, refLogprobs, advantages: Float32Array.from(idx, (i) => seqs[i]!.advantage), sequences: idx };
}
