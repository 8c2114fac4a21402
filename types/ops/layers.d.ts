// The transformer-layer ops of the native addon: embedding, RMSNorm (with the
// fused residual add), RoPE, causal GQA attention over packed sequences, and
// SwiGLU, each with its backward. Shapes: T tokens (all sequences packed, no
// padding), D hidden size, V vocabulary, Hq/Hkv query/KV heads, Dh head size,
// F MLP width, B sequences. Floating inputs are f32 or bf16; results take the
// input's dtype unless marked f32.
import type { NativeTensor } from '../native.js';
import type { AsyncForms } from './train.js';

export interface RmsnormResult {
  /** [T, D]: s / sqrt(mean(s²) + eps) · w */
  y: NativeTensor;
  /** [T, D]: s = x + residual, the new residual stream (only when a residual was given) */
  s?: NativeTensor;
  /** [T] f32: 1 / sqrt(mean(s²) + eps), saved for the backward */
  rstd: NativeTensor;
}

export interface RmsnormGrads {
  /** [T, D]: the gradient of x, and equally of the residual */
  dx: NativeTensor;
  /** [D] f32 */
  dw: NativeTensor;
}

export interface RopeOptions {
  /** rope_theta; default 1e6 (Qwen2.5) */
  theta?: number;
  /** overwrite the inputs and return them; default false (new tensors) */
  inPlace?: boolean;
}

export interface AttentionResult {
  /** [T, Hq, Dh] */
  out: NativeTensor;
  /** [Hq, T] f32: natural-log log-sum-exp of each query's scaled scores, for the backward */
  lse: NativeTensor;
}

export interface AttentionGrads {
  /** [T, Hq, Dh] */
  dq: NativeTensor;
  /** [T, Hkv, Dh]: summed over the query heads sharing each KV head */
  dk: NativeTensor;
  /** [T, Hkv, Dh] */
  dv: NativeTensor;
}

export interface LayerOpsSync {
  /** Row gather: ids [T] i32 in [0, V), w [V, D] → y [T, D] = w[ids]. */
  embedding(ids: NativeTensor, w: NativeTensor): NativeTensor;
  /**
   * Scatter-add: dy [T, D], ids [T] i32 → dw [V, D] f32, rows of repeated ids summed
   * (deterministically). vocabSize is V, the rows of w.
   */
  embeddingBackward(dy: NativeTensor, ids: NativeTensor, options: { vocabSize: number }): NativeTensor;
  /**
   * RMSNorm with an optional fused residual add: x [T, D], w [D], residual [T, D] →
   * s = x + residual, y = s / sqrt(mean(s²) + eps) · w. eps ≥ 0, default 1e-6 (Qwen2).
   */
  rmsnorm(x: NativeTensor, w: NativeTensor, residual?: NativeTensor | null, options?: { eps?: number }): RmsnormResult;
  /**
   * The backward of rmsnorm: dy [T, D], s [T, D] (the normalised input: x + residual,
   * or x), w [D], rstd [T] from the forward. dresidual [T, D] (optional) is the gradient
   * reaching s from the residual stream downstream; it is added into dx.
   */
  rmsnormBackward(
    dy: NativeTensor,
    s: NativeTensor,
    w: NativeTensor,
    rstd: NativeTensor,
    dresidual?: NativeTensor | null,
  ): RmsnormGrads;
  /**
   * Rotary embedding (HF rotate_half) of q [T, Hq, Dh] and k [T, Hkv, Dh] at
   * positions [T] i32 ≥ 0 (one per token; packed sequences restart at 0). Dh even.
   */
  rope(q: NativeTensor, k: NativeTensor, positions: NativeTensor, options?: RopeOptions): { q: NativeTensor; k: NativeTensor };
  /** The backward of rope (the inverse rotation): dq, dk → the gradients of q, k. */
  ropeBackward(
    dq: NativeTensor,
    dk: NativeTensor,
    positions: NativeTensor,
    options?: RopeOptions,
  ): { dq: NativeTensor; dk: NativeTensor };
  /**
   * Causal grouped-query attention over packed sequences: q [T, Hq, Dh], k and v
   * [T, Hkv, Dh] (one dtype; Hkv divides Hq; Dh a multiple of 8), cuSeqlens [B+1] i32
   * (0, then each sequence's end: non-decreasing, ending at T). Query head h reads KV
   * head ⌊h / (Hq/Hkv)⌋. scale defaults to 1/√Dh. Flash-style: no [T, T] buffer.
   */
  attention(
    q: NativeTensor,
    k: NativeTensor,
    v: NativeTensor,
    cuSeqlens: NativeTensor,
    options?: { scale?: number },
  ): AttentionResult;
  /** The backward of attention from dout [T, Hq, Dh] and the forward's out and lse (same scale). */
  attentionBackward(
    dout: NativeTensor,
    q: NativeTensor,
    k: NativeTensor,
    v: NativeTensor,
    out: NativeTensor,
    lse: NativeTensor,
    cuSeqlens: NativeTensor,
    options?: { scale?: number },
  ): AttentionGrads;
  /** silu(gate) · up for gate and up of one shape (e.g. [T, F]). */
  swiglu(gate: NativeTensor, up: NativeTensor): NativeTensor;
  /** The backward of swiglu: dy, gate, up (one shape) → dgate, dup. */
  swigluBackward(dy: NativeTensor, gate: NativeTensor, up: NativeTensor): { dgate: NativeTensor; dup: NativeTensor };
}

export interface LayerOps extends LayerOpsSync, AsyncForms<LayerOpsSync> {}
