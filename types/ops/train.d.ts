// The training ops of the native addon: the fused LM-head log-prob and the SFT
// cross-entropy, the GRPO loss and advantages, AdamW and the global grad norm,
// and sampling. Shapes: T tokens, D hidden size, V vocabulary, B rows, N rewards.
import type { NativeTensor } from '../native.js';

export interface LmHeadLogprobResult {
  /** [T] f32: log softmax(hidden · weightᵀ / temperature)[targets] */
  logprob: NativeTensor;
  /** [T] f32: the entropy of that softmax */
  entropy: NativeTensor;
  /** [T] f32: log Σ exp(logits / temperature), saved for the backward */
  lse: NativeTensor;
  /** Temporary memory the call allocated besides its outputs (bytes); independent of V. */
  scratchBytes: number;
}

export interface LmHeadGrads {
  /** [T, D] f32 */
  dhidden: NativeTensor;
  /** [V, D] f32 */
  dweight: NativeTensor;
  scratchBytes: number;
}

export interface CrossEntropyResult {
  /** Σ mask · (−logprob) / Σ mask (0 when the mask is all zero) */
  loss: number;
  /** Σ mask */
  count: number;
  /** [T, D] f32 (absent with {grad: false}) */
  dhidden?: NativeTensor;
  /** [V, D] f32 (absent with {grad: false}) */
  dweight?: NativeTensor;
  scratchBytes: number;
}

/**
 * KL estimators against the reference policy: 'k1' | 'k2' | 'k3' (the names of Model.forwardBackward's
 * `klType` and the trainer's `actor.klType`); veRL's kl_loss_type names are accepted as aliases:
 * 'kl' = k1, 'mse' = k2, 'low_var_kl' = k3.
 */
export type KlType = 'k1' | 'k2' | 'k3' | 'kl' | 'mse' | 'low_var_kl';
/** veRL's loss_agg_mode values. */
export type LossAggregation = 'token-mean' | 'seq-mean-token-sum' | 'seq-mean-token-mean';

/**
 * The GRPO loss options. The names are those of Model.forwardBackward's GRPO loss and of the trainer's
 * `actor` config: clipRatio, dualClip, klCoef, klType, entropyCoef, aggregation.
 */
export interface GrpoLossOptions {
  /** [T] f32 reference log-probs (required when klCoef ≠ 0). */
  refLogp?: NativeTensor;
  /** [T] f32 per-token entropy (required when entropyCoef ≠ 0; also gives the entropyMean statistic). */
  entropy?: NativeTensor;
  /** [S + 1] i32 packed sequence boundaries (required by the seq-mean aggregations). */
  cuSeqlens?: NativeTensor;
  /**
   * The ratio is clipped to [1 − low, 1 + high] (low in (0, 1), high > 0); a number sets both. Default 0.2
   * (DAPO's clip-higher: { low: 0.2, high: 0.28 }).
   */
  clipRatio?: number | { low: number; high: number };
  /** Alias of clipRatio.low (veRL's clip_ratio_low); not with clipRatio. */
  clipLow?: number;
  /** Alias of clipRatio.high (veRL's clip_ratio_high); not with clipRatio. */
  clipHigh?: number;
  /** Dual-clip PPO for negative advantages: the bound c > 1, or false for none. Default 3 (veRL's clip_ratio_c; veRL applies it always); true = 3. */
  dualClip?: number | boolean;
  /** Alias of a numeric dualClip (veRL's clip_ratio_c); not with a numeric dualClip. */
  clipRatioC?: number;
  /** KL penalty coefficient; default 0 (no KL term) */
  klCoef?: number;
  /** default 'k3' (clamped to [−10, 10]) */
  klType?: KlType;
  /** entropy bonus coefficient (the loss subtracts it); default 0 */
  entropyCoef?: number;
  /** default 'token-mean' */
  aggregation?: LossAggregation;
}

/** The statistics of a GRPO loss, as veRL's metrics (masked token means unless said). */
export interface GrpoStats {
  pgLoss: number;
  klLoss: number;
  entropyLoss: number;
  /** Masked token means, as veRL's metrics: the clip fired (pg_clipfrac) */
  clipFraction: number;
  /** the dual clip fired (pg_clipfrac_lower) */
  clipFractionLower: number;
  /** mean of oldLogp − logp (ppo_kl) */
  approxKl: number;
  /** mean of the KL estimator (0 without refLogp) */
  klMean: number;
  /** mean entropy (0 without entropy) */
  entropyMean: number;
  ratioMean: number;
  /** largest ratio among masked-in tokens */
  ratioMax: number;
  /** Σ mask */
  tokens: number;
}

export interface GrpoLossResult extends GrpoStats {
  /** pgLoss + klCoef · klLoss − entropyCoef · entropyLoss */
  loss: number;
  /** [T] f32: d loss / d logp (zero on masked tokens) */
  dlogp: NativeTensor;
  /** [T] f32: d loss / d entropy (present when entropyCoef ≠ 0) */
  dentropy?: NativeTensor;
}

export interface GrpoAdvantagesOptions {
  /** Groups are consecutive runs of groupSize rewards ... */
  groupSize?: number;
  /** ... or given per reward ([N] i32, any ids; members need not be adjacent). */
  groupIds?: NativeTensor;
  /** default 1e-6 */
  eps?: number;
  /** divide by the group's unbiased std (GRPO); false: mean-only (Dr. GRPO). Default true. */
  normStd?: boolean;
}

export interface AdamWOptions {
  /** The step being taken, 1-based (for bias correction). Required. */
  step: number;
  /** default 1e-3 */
  lr?: number;
  /** default 0.9 */
  beta1?: number;
  /** default 0.999 */
  beta2?: number;
  /** default 1e-8 */
  eps?: number;
  /** decoupled weight decay; default 0.01 (torch's default) */
  weightDecay?: number;
  /**
   * f32 master copies of params (same shapes), required when params are bf16:
   * the step updates master and writes bf16(master) into params.
   */
  master?: NativeTensor[];
}

/** A number for every row, or one entry per row. */
export type PerRow = number | readonly number[] | Float32Array | Float64Array | Int32Array | Uint32Array;

export interface SampleOptions {
  /** ≥ 0; 0 = greedy. Default 1. */
  temperature?: PerRow;
  /** keep the k most likely tokens; 0 = off (default) */
  topK?: PerRow;
  /** nucleus mass in (0, 1]; 1 = off (default) */
  topP?: PerRow;
  /** drop tokens below minP · (the top probability), in [0, 1); 0 = off (default) */
  minP?: PerRow;
  /** Philox key per row (integer < 2^53); default 0 */
  seed?: PerRow;
  /** Philox counter per row (integer < 2^53): advance it for every draw, e.g. the token position; default 0 */
  offset?: PerRow;
}

export interface SampleResult {
  /** [B] i32 */
  ids: NativeTensor;
  /** [B] f32: log-prob under the distribution sampled (after top-k/top-p/min-p; 0 for greedy rows) */
  logprob: NativeTensor;
  /** [B] f32: log-prob under softmax(logits / temperature) (temperature 1 for greedy rows) */
  tempLogprob: NativeTensor;
}

/** The synchronous forms; each also has `<name>Async` (see TrainOps). */
export interface TrainOpsSync {
  /**
   * Fused LM head + log-softmax + gather + entropy: hidden [T, D] and weight [V, D]
   * (f32 or bf16), targets [T] i32 in [0, V). The vocabulary is processed in chunks
   * with a running log-sum-exp; the [T, V] logits never exist. temperature > 0, default 1.
   */
  lmHeadLogprob(
    hidden: NativeTensor,
    weight: NativeTensor,
    targets: NativeTensor,
    options?: { temperature?: number },
  ): LmHeadLogprobResult;
  /**
   * The backward of lmHeadLogprob for upstream gradients dlogprob [T] and/or
   * dentropy [T] (f32; pass null for an absent one), recomputing the logits chunk
   * by chunk from the saved lse and entropy. Use the forward's temperature.
   */
  lmHeadLogprobBackward(
    dlogprob: NativeTensor | null,
    dentropy: NativeTensor | null,
    hidden: NativeTensor,
    weight: NativeTensor,
    targets: NativeTensor,
    lse: NativeTensor,
    entropy: NativeTensor,
    options?: { temperature?: number },
  ): LmHeadGrads;
  /**
   * SFT cross-entropy through the same fused path: the mean over mask [T] (f32 or u8;
   * null = all tokens) of −logprob, and, unless {grad: false}, dhidden and dweight
   * in the same call (forward and backward passes back to back).
   */
  crossEntropy(
    hidden: NativeTensor,
    weight: NativeTensor,
    targets: NativeTensor,
    mask?: NativeTensor | null,
    options?: { temperature?: number; grad?: boolean },
  ): CrossEntropyResult;
  /**
   * The GRPO policy loss (veRL's compute_policy_loss + kl_penalty + entropy bonus,
   * aggregated by agg_loss) over per-token logp, oldLogp, advantages [T] f32 and
   * mask [T] (f32 or u8: response tokens minus tool-output tokens).
   */
  grpoLoss(
    logp: NativeTensor,
    oldLogp: NativeTensor,
    advantages: NativeTensor,
    mask: NativeTensor,
    options?: GrpoLossOptions,
  ): GrpoLossResult;
  /**
   * Group-normalised advantages: rewards [N] f32 → [N] f32, (r − mean) / (std + eps)
   * per group with the unbiased std. All-equal groups and groups of one give 0.
   */
  grpoAdvantages(rewards: NativeTensor, options: GrpoAdvantagesOptions): NativeTensor;
  /**
   * One AdamW step (torch.optim.AdamW) over lists of tensors, in place: params
   * (f32, or bf16 with options.master), grads (f32 or bf16), m and v (f32).
   */
  adamw(
    params: NativeTensor[],
    grads: NativeTensor[],
    m: NativeTensor[],
    v: NativeTensor[],
    options: AdamWOptions,
  ): Record<string, never>;
  /** The global L2 norm over every element of every grad (f64 accumulation). */
  gradNorm(grads: NativeTensor[]): { norm: number };
  /**
   * torch.nn.utils.clip_grad_norm_: scales every grad in place by maxNorm / (norm + 1e-6)
   * when that is below 1 (not when the norm is NaN/inf). Returns the norm before clipping.
   */
  clipGradNorm(grads: NativeTensor[], options: { maxNorm: number }): { norm: number };
  /**
   * One token per row of logits [B, V] (f32 or bf16) with per-row temperature,
   * top-k, top-p, min-p and a Philox seed/offset: a row's draw depends only on its
   * own logits and options, never on the other rows.
   */
  sample(logits: NativeTensor, options?: SampleOptions): SampleResult;
}

/** `nameAsync` for every op: the same arguments, computed off the JS thread. */
export type AsyncForms<T> = {
  [K in keyof T & string as `${K}Async`]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : never;
};

export interface TrainOps extends TrainOpsSync, AsyncForms<TrainOpsSync> {}
