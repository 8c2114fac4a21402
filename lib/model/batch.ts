// Packed batches: the user's form (defaults, masks of either type) → the
// validated host tensors the native model runs on.
import { tensor } from '../tensor.js';
import type { NativeBatch } from '../../types/model.js';
import type { ModelConfig } from './config.js';

/**
 * A packed batch of variable-length sequences, no padding: sequence b holds tokens
 * [cuSeqlens[b], cuSeqlens[b + 1]).
 */
export interface Batch {
  /** Token ids [T]. */
  tokens: Int32Array;
  /** Position of each token [T]; default: 0, 1, … restarting at each sequence. */
  positions?: Int32Array;
  /** Sequence boundaries [B + 1]: 0 = cu[0] ≤ … ≤ cu[B] = T. */
  cuSeqlens: Int32Array;
  /** The token each position predicts [T]; default: the next token of the same sequence. A negative id means "no target". The last token of a sequence has no default target. */
  targets?: Int32Array;
  /** Which targets count in the loss [T] (weights, or 0/1); tokens without a target never count. */
  mask?: Float32Array | Uint8Array;
}

/** The batch with every default filled in, checked against the config. */
export interface PackedBatch {
  tokens: Int32Array;
  positions: Int32Array;
  cuSeqlens: Int32Array;
  /** [T]; -1 where a token has no target */
  targets: Int32Array;
  /** [T] f32; 0 where a token has no target */
  mask: Float32Array;
}

/** Fill a batch's defaults and check it against the model config; `op` names the caller in errors. */
export function packBatch(batch: Batch, config: ModelConfig, op: string, mask = batch.mask): PackedBatch {
  const fail = (msg: string): never => {
    throw new Error(`${op}: ${msg}`);
  };
  const { tokens, cuSeqlens: cu } = batch;
  if (!(tokens instanceof Int32Array)) fail('batch.tokens must be an Int32Array');
  if (!(cu instanceof Int32Array)) fail('batch.cuSeqlens must be an Int32Array');
  const T = tokens.length;
  if (T === 0) fail('batch.tokens is empty');
  if (cu.length < 2 || cu[0] !== 0 || cu[cu.length - 1] !== T) {
    fail(`batch.cuSeqlens must start at 0 and end at T = ${T} (tokens.length), got [${cu.join(', ')}]`);
  }
  for (let b = 0; b + 1 < cu.length; b++) {
    if (cu[b]! > cu[b + 1]!) fail(`batch.cuSeqlens must not decrease: cuSeqlens[${b}] = ${cu[b]} > cuSeqlens[${b + 1}] = ${cu[b + 1]}`);
  }
  const perToken = (a: ArrayLike<number> | undefined, name: string) => {
    if (a !== undefined && a.length !== T) fail(`batch.${name} has ${a.length} entries but tokens has ${T}`);
  };
  perToken(batch.positions, 'positions');
  perToken(batch.targets, 'targets');
  perToken(mask, 'mask');
  const V = config.vocabSize;
  const positions = batch.positions ?? new Int32Array(T);
  const targets = batch.targets ? Int32Array.from(batch.targets) : new Int32Array(T).fill(-1);
  for (let b = 0; b + 1 < cu.length; b++) {
    for (let t = cu[b]!; t < cu[b + 1]!; t++) {
      if (!batch.positions) positions[t] = t - cu[b]!;
      if (!batch.targets && t + 1 < cu[b + 1]!) targets[t] = tokens[t + 1]!;
    }
  }
  const maskOut = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    if (!(tokens[t]! >= 0 && tokens[t]! < V)) fail(`batch.tokens[${t}] = ${tokens[t]} is outside [0, vocab_size = ${V})`);
    if (targets[t]! >= V) fail(`batch.targets[${t}] = ${targets[t]} is not below vocab_size = ${V}`);
    const p = positions[t]!;
    if (!(p >= 0 && p < config.maxPositionEmbeddings)) {
      fail(`batch.positions[${t}] = ${p} is outside [0, max_position_embeddings = ${config.maxPositionEmbeddings})`);
    }
    maskOut[t] = targets[t]! < 0 ? 0 : mask ? mask[t]! : 1;
    if (!Number.isFinite(maskOut[t])) fail(`batch.mask[${t}] is not finite`);
  }
  return { tokens, positions, cuSeqlens: cu, targets, mask: maskOut };
}

/** The native model's host tensors for a packed batch (targets without a target point at id 0, masked). */
export function nativeBatch(p: PackedBatch): NativeBatch {
  return {
    tokens: tensor(p.tokens),
    positions: tensor(p.positions),
    cuSeqlens: tensor(p.cuSeqlens),
    targets: tensor(p.targets.map((t) => Math.max(t, 0))),
    mask: tensor(p.mask),
  };
}
