// The native Qwen2 model (native/napi/model_wrap.cc), registered as
// the module export Qwen2Model. lib/model/model.ts wraps it as the public `Model`.
import type { ModelConfig } from '../lib/model/config.js';
import type { NativeTensor } from './native.js';
import type { GrpoStats } from './ops/train.js';

/** The ModelConfig fields the native model reads. */
export type NativeModelConfig = Pick<
  ModelConfig,
  | 'hiddenSize' | 'intermediateSize' | 'numHiddenLayers' | 'numAttentionHeads' | 'numKeyValueHeads' | 'headDim'
  | 'vocabSize' | 'maxPositionEmbeddings' | 'ropeTheta' | 'rmsNormEps' | 'tieWordEmbeddings'
>;

/** A packed batch as host tensors: tokens, positions, targets [T] i32 (targets in range), cuSeqlens [B + 1] i32, mask [T] f32. */
export interface NativeBatch {
  tokens: NativeTensor;
  positions: NativeTensor;
  cuSeqlens: NativeTensor;
  targets: NativeTensor;
  mask: NativeTensor;
}

/** How a call splits the batch and what it saves. */
export interface NativeStepOptions {
  /** Micro-batches of whole sequences of at most this many tokens (0 = one). */
  microBatchTokens?: number;
  /** Gradient checkpointing: keep each layer's input only, recompute the rest in backward. */
  recompute?: boolean;
}

export interface NativeLogprobs {
  /** [T] f32 */
  logprob: NativeTensor;
  /** [T] f32 */
  entropy: NativeTensor;
  microBatches: number;
  peakActivationBytes: number;
}

/** The loss of forwardBackward. GRPO per-token inputs are host f32 [T]; klType 0 k1, 1 k2, 2 k3; aggregation 0 token-mean, 1 seq-mean-token-sum, 2 seq-mean-token-mean. */
export interface NativeLossSpec extends NativeStepOptions {
  kind: 'crossEntropy' | 'grpo';
  temperature?: number;
  oldLogprobs?: NativeTensor;
  advantages?: NativeTensor;
  refLogprobs?: NativeTensor;
  clipLow?: number;
  clipHigh?: number;
  dualClip?: boolean;
  clipRatioC?: number;
  klCoef?: number;
  klType?: 0 | 1 | 2;
  entropyCoef?: number;
  aggregation?: 0 | 1 | 2;
  /** The whole step's Σ mask and sequence count when this batch is one part of it (0 or absent: its own). */
  normTokens?: number;
  normSequences?: number;
}

/** A step's loss and statistics (the GRPO ones are zero under cross-entropy). */
export interface NativeStepResult extends GrpoStats {
  loss: number;
  microBatches: number;
  /** Activations saved for backward, at their peak (plus the LM head's scratch). */
  peakActivationBytes: number;
}

/** One Qwen2 model in native memory (weights, gradients, activations). */
export interface NativeQwen2Model {
  readonly device: string;
  readonly dtype: 'f32' | 'bf16';
  /** Every parameter the config implies (our names), in checkpoint order. */
  specs(): { name: string; shape: number[] }[];
  /** Stores a copy of `tensor` (any float dtype/device) converted to the model's dtype and device. */
  setWeight(name: string, tensor: NativeTensor): void;
  /** The live weight: shares the model's memory (updates show through). */
  weight(name: string): NativeTensor;
  /** Throws naming the first parameter never set. */
  checkWeights(): void;
  /** Accumulated f32 gradients by name (absent where none yet); later backward passes add into them in place. */
  gradients(): Record<string, NativeTensor>;
  zeroGrad(): void;
  logprobs(batch: NativeBatch, options?: NativeStepOptions & { temperature?: number }): Promise<NativeLogprobs>;
  forwardBackward(batch: NativeBatch, spec: NativeLossSpec): Promise<NativeStepResult>;
  /** One generation step over the paged cache (native/model/qwen2.h GenStep); one sampling row per sampleSeqs entry. */
  generateStep(cache: NativeKvCache, step: NativeGenStep): Promise<NativeGenResult>;
}

/** The engine's paged KV cache: per layer K and V [numBlocks, blockSize, Hkv, Dh] in the model's dtype and device. */
export interface NativeKvCache {
  k: NativeTensor[];
  v: NativeTensor[];
}

/**
 * One engine step (host i32 tensors): sequence b brings tokens [cuSeqlens[b], cuSeqlens[b+1]), cached at
 * positions contextLens[b] − n_b … contextLens[b] − 1 through its blockTables row [B, maxBlocks];
 * copySrc/copyDst [N] blocks copied first; sampleSeqs [R] the sequence each sampled row reads; the
 * sampling options have one entry per row (as ops.sample).
 */
export interface NativeGenStep {
  tokens: NativeTensor;
  cuSeqlens: NativeTensor;
  contextLens: NativeTensor;
  blockTables: NativeTensor;
  copySrc: NativeTensor;
  copyDst: NativeTensor;
  sampleSeqs: NativeTensor;
  temperature: ArrayLike<number>;
  topK: ArrayLike<number>;
  topP: ArrayLike<number>;
  minP: ArrayLike<number>;
  seed: ArrayLike<number>;
  offset: ArrayLike<number>;
  /** CPU: ≥ 0 packs the linear weights for the GEMM once per version (repacked when it moves); −1 (default) per call. */
  weightVersion?: number;
  /** Sample among ids [0, vocab) only (a tokenizer's ids when the head is padded past them); 0 or absent: all. */
  vocab?: number;
}

export interface NativeGenResult {
  /** [R] i32 */
  ids: NativeTensor;
  /** [R] f32 under the truncated distribution sampled */
  logprob: NativeTensor;
  /** [R] f32 under softmax(logits / temperature) (temperature 1 for greedy rows) */
  tempLogprob: NativeTensor;
}

export interface NativeQwen2ModelClass {
  new (config: NativeModelConfig, options?: { device?: string; dtype?: 'f32' | 'bf16' }): NativeQwen2Model;
}
