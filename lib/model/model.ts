// The Qwen2 model runner: weights, gradients and activations in native memory;
// each log-prob pass or training step over a packed batch is one async native
// call (the event loop stays free for sandbox I/O while it runs).
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { native } from '../native.js';
import { fromBytes, tensor, type Tensor } from '../tensor.js';
import type { NativeLossSpec, NativeQwen2Model, NativeStepResult } from '../../types/model.js';
import { nativeBatch, packBatch, type Batch } from './batch.js';
import { checkModelDir, loadConfig, writeConfig, type ModelConfig } from './config.js';
import { encodeFloats } from './float.js';
import { hfToOurs, oursToHf, readModelWeights } from './names.js';
import { randomWeights } from './random-checkpoint.js';
import { readSafetensors, writeSafetensors, type HostTensor } from './safetensors.js';

/** Where the model lives and in what precision: default f32 on 'cpu', bf16 on 'cuda'. */
export interface ModelOptions {
  device?: string;
  dtype?: 'f32' | 'bf16';
}

/** How a call splits the batch and what it keeps for backward. */
export interface StepOptions {
  /** Micro-batches of whole sequences, at most this many tokens each (a longer sequence goes alone); default: one. Gradients accumulate across them. */
  microBatchTokens?: number;
  /** Gradient checkpointing: keep only each layer's input, recompute the layer during backward. */
  recompute?: boolean;
}

/** forwardBackward's options: the split, and the normaliser when the batch is one part of a larger step. */
export interface BackwardOptions extends StepOptions {
  /**
   * The whole step's Σ mask (tokens) and sequence count when this call is one of several over its parts:
   * each part is normalised as the whole, so the losses, statistics and gradients of the parts add up
   * to those of one call over the whole batch. Default: this batch's own.
   */
  normalizer?: { tokens: number; sequences: number };
}

export interface LogprobOptions extends StepOptions {
  /** Logits are divided by this before the softmax; default 1. */
  temperature?: number;
}

export interface LogprobResult {
  /** log p(target) per token [T] (0 where a token has no target). */
  logprobs: Float32Array;
  /** Entropy of each token's next-token distribution [T]. */
  entropy: Float32Array;
  microBatches: number;
  peakActivationBytes: number;
}

/** SFT: mean over masked targets of −log p(target). */
export interface CrossEntropyLoss {
  type: 'crossEntropy';
  /** Overrides the batch's mask. */
  mask?: Float32Array | Uint8Array;
  temperature?: number;
}

export type LossAggregation = 'token-mean' | 'seq-mean-token-sum' | 'seq-mean-token-mean';
export type KlEstimator = 'k1' | 'k2' | 'k3';

/** The GRPO policy loss (veRL semantics; see torl.ops.grpoLoss). */
export interface GrpoLoss {
  type: 'grpo';
  /** log-probs of the targets under the rollout policy [T]. */
  oldLogprobs: Float32Array;
  /** Per token [T], or per sequence [B] (broadcast over its tokens). */
  advantages: Float32Array;
  /** log-probs under the reference policy [T] (needed when klCoef ≠ 0). */
  refLogprobs?: Float32Array;
  /** The ratio is clipped to [1 − low, 1 + high]; a number sets both. Default 0.2. (The name of ops.grpoLoss's and the trainer's actor.clipRatio.) */
  clipRatio?: number | { low: number; high: number };
  /** Dual-clip bound c > 1 for negative advantages, or false for none. Default 3. */
  dualClip?: number | false;
  /** KL penalty coefficient against refLogprobs. Default 0 (none). */
  klCoef?: number;
  /** The KL estimator; default 'k3' (veRL's low_var_kl). */
  klType?: KlEstimator;
  /** Entropy bonus coefficient. Default 0. */
  entropyCoef?: number;
  /** Default 'token-mean' (ToRL/veRL). */
  aggregation?: LossAggregation;
  /** The loss mask (response tokens minus tool output); overrides the batch's mask. */
  mask?: Float32Array | Uint8Array;
  temperature?: number;
}

export type LossSpec = CrossEntropyLoss | GrpoLoss;

/** Σ mask (tokens), the GRPO statistics, micro-batch count and peak activation bytes. */
export type StepStats = Omit<NativeStepResult, 'loss'>;

export interface StepResult {
  loss: number;
  stats: StepStats;
}

const KL_CODES = { k1: 0, k2: 1, k3: 2 } as const;
const AGG_CODES = { 'token-mean': 0, 'seq-mean-token-sum': 1, 'seq-mean-token-mean': 2 } as const;

/** A Qwen2 causal LM in native memory (see native/model/qwen2.h). */
export class Model {
  private constructor(
    /** The architecture. */
    readonly config: ModelConfig,
    /** The native model: its weights are what a generation engine shares (weight(name) is the live memory). */
    readonly native: NativeQwen2Model,
  ) {}

  private version = 0;

  /** The directory Model.load read (absent for Model.random / fromWeights): save() copies its tokenizer files. */
  sourceDir: string | undefined;

  /** Moves whenever the weights change in place (AdamW.step, weightsChanged): caches of K/V computed before are stale. */
  get weightVersion(): number {
    return this.version;
  }

  /** Records an in-place weight update made outside AdamW (ops.adamw, ops.addInPlace on a parameter, …). */
  weightsChanged(): void {
    this.version++;
  }

  /** 'cpu' or 'cuda:N'. */
  get device(): string {
    return this.native.device;
  }

  get dtype(): 'f32' | 'bf16' {
    return this.native.dtype;
  }

  /** A model from weights under our parameter names (HostTensors of any float dtype); every parameter is checked. */
  static fromWeights(config: ModelConfig, weights: Map<string, HostTensor>, options: ModelOptions = {}): Model {
    const m = new native.Qwen2Model(config, options);
    for (const [name, w] of weights) {
      const t = fromBytes(w.data, w.shape, w.dtype);
      m.setWeight(name, t);
      t.dispose();
    }
    m.checkWeights();
    return new Model(config, m);
  }

  /** Load a local HF Qwen2 directory (config.json + safetensors, single or sharded); nothing is downloaded. */
  static async load(dir: string, options: ModelOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<Model> {
    await checkModelDir('Model.load', dir);
    const config = await loadConfig(dir);
    const weights = await readModelWeights(await readSafetensors(dir), config, options.onProgress);
    const model = Model.fromWeights(config, weights, options);
    model.sourceDir = dir;
    return model;
  }

  /** Seeded random weights (see randomWeights): the same seed and config give the same model. */
  static random(config: ModelConfig, options: ModelOptions & { seed: number; std?: number }): Model {
    const hf = randomWeights(config, { seed: options.seed, std: options.std, dtype: 'f32' });
    return Model.fromWeights(config, new Map([...hf].map(([name, t]) => [hfToOurs(name), t])), options);
  }

  /** The live weights by our names (shared memory: optimizer steps show through). */
  parameters(): Map<string, Tensor> {
    return new Map(this.native.specs().map(({ name }) => [name, this.native.weight(name)]));
  }

  /**
   * The accumulated f32 gradients by name (absent where no backward has run since zeroGrad).
   * Live memory: a later forwardBackward adds into these tensors in place (until zeroGrad).
   */
  gradients(): Map<string, Tensor> {
    return new Map(Object.entries(this.native.gradients()));
  }

  zeroGrad(): void {
    this.native.zeroGrad();
  }

  /** Per-token log-probs of the targets and entropies, without grad; the [T, V] logits never exist. */
  async logprobs(batch: Batch, options: LogprobOptions = {}): Promise<LogprobResult> {
    const packed = packBatch(batch, this.config, 'Model.logprobs');
    const r = await this.native.logprobs(nativeBatch(packed), options);
    const logprobs = r.logprob.toArray() as Float32Array;
    const entropy = r.entropy.toArray() as Float32Array;
    packed.targets.forEach((t, i) => {
      if (t < 0) logprobs[i] = 0;
    });
    return { logprobs, entropy, microBatches: r.microBatches, peakActivationBytes: r.peakActivationBytes };
  }

  /** Forward, loss and backward over a packed batch; gradients accumulate until zeroGrad(). */
  async forwardBackward(batch: Batch, loss: LossSpec, options: BackwardOptions = {}): Promise<StepResult> {
    const op = 'Model.forwardBackward';
    const packed = packBatch(batch, this.config, op, loss.mask ?? batch.mask);
    const { normalizer, ...split } = options;
    const spec: NativeLossSpec = { kind: loss.type, temperature: loss.temperature, ...split };
    if (normalizer !== undefined) {
      const { tokens, sequences } = normalizer;
      if (!(tokens > 0) || !Number.isInteger(sequences) || sequences < 1) throw new Error(`${op}: normalizer must be { tokens > 0, sequences ≥ 1 (an integer) }, got ${JSON.stringify(normalizer)}`);
      Object.assign(spec, { normTokens: tokens, normSequences: sequences });
    }
    if (loss.type === 'grpo') Object.assign(spec, grpoSpec(loss, packed.cuSeqlens, op));
    else if (loss.type !== 'crossEntropy') throw new Error(`${op}: loss.type must be 'crossEntropy' or 'grpo', got ${JSON.stringify((loss as { type: unknown }).type)}`);
    const { loss: value, ...stats } = await this.native.forwardBackward(nativeBatch(packed), spec);
    return { loss: value, stats };
  }

  /**
   * Write a complete HF directory that transformers, vLLM and `torl eval` load: config.json +
   * model.safetensors (HF names; dtype defaults to the model's) + the tokenizer and generation-config
   * files (TOKENIZER_FILES, those present) of `tokenizerDir`, by default the directory the model was
   * loaded from (a Model.random model without `tokenizerDir` gets none).
   */
  async save(dir: string, options: { dtype?: 'f32' | 'bf16'; tokenizerDir?: string } = {}): Promise<void> {
    const dtype = options.dtype ?? this.dtype;
    const out = new Map<string, HostTensor>();
    for (const [name, w] of this.parameters()) {
      const host = w.to('cpu');
      const data = host.dtype === dtype ? host.toBytes() : encodeFloats(host.toArray() as Float32Array, dtype);
      out.set(oursToHf(name), { dtype, shape: host.shape, data });
      host.dispose();
    }
    await mkdir(dir, { recursive: true });
    await writeSafetensors(join(dir, 'model.safetensors'), out);
    await writeConfig(dir, { ...this.config, torchDtype: dtype === 'bf16' ? 'bfloat16' : 'float32' });
    const from = options.tokenizerDir ?? this.sourceDir;
    if (from !== undefined && resolve(from) !== resolve(dir)) {
      for (const f of TOKENIZER_FILES) {
        await copyFile(join(from, f), join(dir, f)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
      }
    }
  }
}

/** The files of a Hugging Face model directory besides config and weights that make it loadable as a whole. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'vocab.json', 'merges.txt', 'added_tokens.json'] as const;

/** The native GRPO fields of a GrpoLoss; per-sequence advantages are broadcast over their tokens. */
function grpoSpec(loss: GrpoLoss, cu: Int32Array, op: string): Partial<NativeLossSpec> {
  const T = cu[cu.length - 1]!, B = cu.length - 1;
  const perToken = (a: Float32Array | undefined, name: string): Tensor | undefined => {
    if (a === undefined) return undefined;
    if (!(a instanceof Float32Array) || a.length !== T) throw new Error(`${op}: loss.${name} must be a Float32Array of ${T} entries (one per token)`);
    return tensor(a);
  };
  let adv = loss.advantages;
  if (adv instanceof Float32Array && adv.length === B && B !== T) {
    adv = new Float32Array(T);
    for (let b = 0; b < B; b++) adv.fill(loss.advantages[b]!, cu[b], cu[b + 1]);
  }
  const clip = typeof loss.clipRatio === 'number' ? { low: loss.clipRatio, high: loss.clipRatio } : (loss.clipRatio ?? { low: 0.2, high: 0.2 });
  const klType = loss.klType ?? 'k3';
  if (!(klType in KL_CODES)) throw new Error(`${op}: loss.klType must be 'k1', 'k2' or 'k3', got ${JSON.stringify(klType)}`);
  const agg = loss.aggregation ?? 'token-mean';
  if (!(agg in AGG_CODES)) throw new Error(`${op}: loss.aggregation must be one of ${Object.keys(AGG_CODES).join(', ')}, got ${JSON.stringify(agg)}`);
  return {
    oldLogprobs: perToken(loss.oldLogprobs, 'oldLogprobs'),
    advantages: perToken(adv, 'advantages (or one per sequence)'),
    refLogprobs: perToken(loss.refLogprobs, 'refLogprobs'),
    clipLow: clip.low,
    clipHigh: clip.high,
    dualClip: loss.dualClip !== false,
    clipRatioC: loss.dualClip === false ? undefined : (loss.dualClip ?? 3),
    klCoef: loss.klCoef ?? 0,
    klType: KL_CODES[klType],
    entropyCoef: loss.entropyCoef ?? 0,
    aggregation: AGG_CODES[agg],
  };
}
