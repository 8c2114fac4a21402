// lmHeadLogprob / lmHeadLogprobBackward / crossEntropy against the naive full
// softmax in float64: vocabularies below, at and past the 4096-row chunk and
// not a multiple of it, token counts past the 512-row tile, temperatures 0.6
// and 1, masks with zero entries and an all-zero mask; an f32 hidden with a bf16
// weight past one CUDA vocabulary chunk (8192 rows, cast to f32 chunk by chunk).
import * as torl from '../../../lib/index.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { type LmHeadRef, lmHeadRef } from '../../helpers/train-ref.js';
import { type Check, floatDType, type OpCase, type Tol } from '../table.js';

interface Inputs {
  h: Float32Array;
  w: Float32Array;
  ids: Int32Array;
  gl: Float32Array;
  gh: Float32Array;
}

/** bf16: which operands are bf16 (true: both; 'weight': only the weight). */
function inputs(T: number, D: number, V: number, bf16: boolean | 'weight', scale: number): Inputs {
  const rand = rng(T * 7919 + D * 104729 + V);
  let h: Float32Array = randn(T * D, rand), w: Float32Array = randn(V * D, rand).map((x) => x * scale);
  if (bf16 === true) h = roundBf16(h);
  if (bf16) w = roundBf16(w);
  const ids = Int32Array.from({ length: T }, () => Math.floor(rand() * V));
  return { h, w, ids, gl: randn(T, rand), gh: randn(T, rand) };
}

/** Per-output tolerances. */
type Tols = Record<'logprob' | 'entropy' | 'lse' | 'dhidden' | 'dweight', Tol>;

/**
 * Every output is bounded relative to its reference magnitude (LmHeadRef: the output's size
 * plus the f32 logit error ~eps·Σ|h·w| propagated to it); atol only absorbs f32 underflow (a
 * dweight row of p ≈ e^-140 is 0 in f32).
 *
 * CPU: a few times the largest ratio seen on every SIMD tier (≤ 4.1e-8 for logprob and lse,
 * 1.3e-7 for dhidden, 1e-6 for the entropy of a peaked row, whose lse − E[z] cancels, 4.4e-7
 * for dweight).
 *
 * GPU: the same magnitudes, 10× the CPU's rtol. The inputs are the reference's own (bf16
 * values are rounded before the reference sees them) and the logits are f32 on both backends:
 * a bf16·bf16 product is exact in f32 and every GEMM accumulates in f32 (cuBLASLt
 * COMPUTE_32F, no TF32; our WMMA / mma.sync kernels fp32-accumulate, the f32 one uses FMA).
 * What cannot be bit-identical to the CPU, each worth a few f32 ulps of those magnitudes:
 * the GEMMs' summation order and FMA contraction (tensor cores add a block of products at a
 * time, truncating), CUDA's expf (≤ 2 ulp; no fast math) beside the CPU's polynomial exp, and
 * the softmax sums' order (f32 per thread, f64 across the block). Not yet measured on a GPU:
 * the first check:gpu run should print the largest ratios. The one difference that is not
 * rounding noise is in grads(): a bf16 d z.
 */
function tols(device: string): Tols {
  const k = device === 'cpu' ? 1 : 10;
  const t = (rtol: number): Tol => ({ rtol: k * rtol, atol: 1e-12 });
  return { logprob: t(1e-6), entropy: t(4e-6), lse: t(1e-6), dhidden: t(1e-6), dweight: t(4e-6) };
}

/**
 * dhidden and dweight beside the reference, relative to Σ|dz·w| and Σ|dz·h| (with d z's
 * propagated error). On a GPU with bf16 hidden and weight, d z reaches the gradient GEMMs in
 * bf16 (as in PyTorch and Liger), so each term dz·w carries up to 2^-8 (the bf16 unit
 * roundoff) relative error: rtol 4e-3 of that magnitude. With f32 or mixed inputs d z stays
 * f32 and tols() applies.
 */
function grads(device: string, dzBf16: boolean, got: { dhidden: torl.Tensor; dweight: torl.Tensor }, ref: LmHeadRef, t: Tols): Record<string, Check> {
  const check = (g: torl.Tensor, want: Float64Array, mag: Float64Array, tol: Tol): Check => ({
    got: g.toArray() as Float32Array,
    want,
    mag,
    tol: device !== 'cpu' && dzBf16 ? { rtol: 4e-3, atol: tol.atol } : tol,
  });
  return { dhidden: check(got.dhidden, ref.dhidden, ref.dhiddenMag, t.dhidden), dweight: check(got.dweight, ref.dweight, ref.dweightMag, t.dweight) };
}

/** inputDType: 'bf16' hidden and weight, or 'mixed' (an f32 hidden, a bf16 weight); default floatDType. */
function lmHeadCase(T: number, D: number, V: number, temperature: number, scale = 1, inputDType?: 'bf16' | 'mixed'): OpCase {
  const label = inputDType === 'bf16' ? ' bf16 inputs' : inputDType === 'mixed' ? ' f32 hidden, bf16 weight' : '';
  return {
    op: 'lmHeadLogprob',
    name: `T=${T} D=${D} V=${V} temperature=${temperature}${label}`,
    run(device) {
      const mixed = inputDType === 'mixed';
      const dtype = mixed ? 'f32' : (inputDType ?? floatDType(device));
      const x = inputs(T, D, V, mixed ? 'weight' : dtype === 'bf16', scale);
      const H = torl.tensor(x.h, [T, D], { dtype, device }), W = torl.tensor(x.w, [V, D], { dtype: mixed ? 'bf16' : dtype, device });
      const I = torl.tensor(x.ids, [T], { device });
      const f = torl.ops.lmHeadLogprob(H, W, I, { temperature });
      const F = (a: Float32Array) => torl.tensor(a, [T], { device });
      const g = torl.ops.lmHeadLogprobBackward(F(x.gl), F(x.gh), H, W, I, f.lse, f.entropy, { temperature });
      const ref = lmHeadRef(x.h, x.w, x.ids, T, D, V, temperature, x.gl, x.gh);
      const t = tols(device);
      return {
        logprob: { got: f.logprob.toArray() as Float32Array, want: ref.logprob, mag: ref.logprobMag, tol: t.logprob },
        entropy: { got: f.entropy.toArray() as Float32Array, want: ref.entropy, mag: ref.entropyMag, tol: t.entropy },
        lse: { got: f.lse.toArray() as Float32Array, want: ref.lse, mag: ref.lseMag, tol: t.lse },
        ...grads(device, dtype === 'bf16', g, ref, t),
      };
    },
  };
}

// Only one of the two upstream gradients.
function oneGradCase(which: 'dlogprob' | 'dentropy'): OpCase {
  const [T, D, V, temperature] = [9, 12, 4100, 0.6];
  return {
    op: 'lmHeadLogprobBackward',
    name: `${which} only, T=${T} D=${D} V=${V}`,
    run(device) {
      const dtype = floatDType(device);
      const x = inputs(T, D, V, dtype === 'bf16', 1);
      const H = torl.tensor(x.h, [T, D], { dtype, device }), W = torl.tensor(x.w, [V, D], { dtype, device });
      const I = torl.tensor(x.ids, [T], { device });
      const f = torl.ops.lmHeadLogprob(H, W, I, { temperature });
      const up = torl.tensor(which === 'dlogprob' ? x.gl : x.gh, [T], { device });
      const g = which === 'dlogprob'
        ? torl.ops.lmHeadLogprobBackward(up, null, H, W, I, f.lse, f.entropy, { temperature })
        : torl.ops.lmHeadLogprobBackward(null, up, H, W, I, f.lse, f.entropy, { temperature });
      const ref = which === 'dlogprob'
        ? lmHeadRef(x.h, x.w, x.ids, T, D, V, temperature, x.gl)
        : lmHeadRef(x.h, x.w, x.ids, T, D, V, temperature, undefined, x.gh);
      return {
        ...grads(device, dtype === 'bf16', g, ref, tols(device)),
      };
    },
  };
}

function crossEntropyCase(T: number, D: number, V: number, temperature: number, maskKind: 'some' | 'none' | 'zero'): OpCase {
  return {
    op: 'crossEntropy',
    name: `T=${T} D=${D} V=${V} temperature=${temperature} mask=${maskKind}`,
    run(device) {
      const dtype = floatDType(device);
      const x = inputs(T, D, V, dtype === 'bf16', 1);
      const mask = Float32Array.from({ length: T }, (_, t) => (maskKind === 'zero' ? 0 : maskKind === 'none' || t % 3 !== 1 ? 1 : 0));
      const H = torl.tensor(x.h, [T, D], { dtype, device }), W = torl.tensor(x.w, [V, D], { dtype, device });
      const I = torl.tensor(x.ids, [T], { device });
      const M = maskKind === 'none' ? null : torl.tensor(Uint8Array.from(mask), [T], { device });
      const c = torl.ops.crossEntropy(H, W, I, M, { temperature });
      const count = mask.reduce((s, v) => s + v, 0);
      const gl = mask.map((m) => (count ? -m / count : 0));
      const ref = lmHeadRef(x.h, x.w, x.ids, T, D, V, temperature, gl);
      const loss = count ? ref.logprob.reduce((s, lp, t) => s - mask[t]! * lp, 0) / count : 0;
      const t = tols(device);
      const lossMag = count ? ref.logprobMag.reduce((s, m, t) => s + mask[t]! * m, 0) / count : 0;
      return {
        loss: { got: [c.loss], want: [loss], mag: [lossMag], tol: t.logprob },
        count: { got: [c.count], want: [count], tol: { rtol: 0, atol: 0 } },
        ...grads(device, dtype === 'bf16', { dhidden: c.dhidden!, dweight: c.dweight! }, ref, t),
      };
    },
  };
}

/** The vocabulary rows the CPU kernels process at once (native/cpu/lm_head.cc). */
export const VOCAB_CHUNK = 4096;

export const lmHeadCases: OpCase[] = [
  lmHeadCase(1, 8, 5, 1.0),
  lmHeadCase(7, 16, 4097, 0.6),
  lmHeadCase(33, 24, 9000, 1.0),
  lmHeadCase(515, 8, 300, 0.6),
  lmHeadCase(4, 64, 4096, 0.6, 8), // peaked softmax: logits up to ~±100 / 0.6
  lmHeadCase(6, 32, 4500, 0.6, 1, 'bf16'), // bf16 hidden and weight on every backend (the CPU widens them)
  lmHeadCase(5, 16, 8200, 1.0, 1, 'mixed'), // f32 hidden, bf16 weight: past the GPU's 8192-row chunk
  oneGradCase('dlogprob'),
  oneGradCase('dentropy'),
  crossEntropyCase(12, 16, 5000, 1.0, 'some'),
  crossEntropyCase(5, 8, 700, 0.6, 'none'),
  crossEntropyCase(4, 8, 300, 1.0, 'zero'),
];
