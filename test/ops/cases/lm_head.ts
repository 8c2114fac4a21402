// lmHeadLogprob / lmHeadLogprobBackward / crossEntropy against the naive full
// softmax in float64: vocabularies below, at and past the 4096-row chunk and
// not a multiple of it, token counts past the 512-row tile, temperatures 0.6
// and 1, masks with zero entries and an all-zero mask.
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

function inputs(T: number, D: number, V: number, bf16: boolean, scale: number): Inputs {
  const rand = rng(T * 7919 + D * 104729 + V);
  let h: Float32Array = randn(T * D, rand), w: Float32Array = randn(V * D, rand).map((x) => x * scale);
  if (bf16) [h, w] = [roundBf16(h), roundBf16(w)];
  const ids = Int32Array.from({ length: T }, () => Math.floor(rand() * V));
  return { h, w, ids, gl: randn(T, rand), gh: randn(T, rand) };
}

/** Per-output tolerances. */
type Tols = Record<'logprob' | 'entropy' | 'lse' | 'dhidden' | 'dweight', Tol>;

/**
 * On the CPU every output is bounded relative to its reference magnitude (LmHeadRef: the
 * output's size plus the f32 logit error ~eps·Σ|h·w| propagated to it), at a few times the
 * largest ratio seen on every SIMD tier (≤ 4.1e-8 for logprob and lse, 1.3e-7 for dhidden,
 * 1e-6 for the entropy of a peaked row, whose lse − E[z] cancels, 4.4e-7 for dweight); atol only absorbs
 * f32 underflow (a dweight row of p ≈ e^-140 is 0 in f32). On a GPU, with bf16 inputs and
 * its own accumulation order, one absolute-and-relative bound (peaked rows: logits ~±170
 * carry ~1e-5 absolute error, which the entropy gradient p·(log p + H) passes on).
 */
function tols(device: string, peaked: boolean): Tols {
  if (device === 'cpu') {
    const t = (rtol: number): Tol => ({ rtol, atol: 1e-12 });
    return { logprob: t(1e-6), entropy: t(4e-6), lse: t(1e-6), dhidden: t(1e-6), dweight: t(4e-6) };
  }
  const t: Tol = peaked ? { rtol: 2e-3, atol: 5e-3 } : { rtol: 2e-3, atol: 2e-3 };
  return { logprob: t, entropy: t, lse: t, dhidden: t, dweight: t };
}

/**
 * dhidden and dweight beside the reference, relative to Σ|dz·w| and Σ|dz·h| (with d z's
 * propagated error). On a GPU, d z reaches the gradient GEMMs in bf16 (as in PyTorch and
 * Liger), so each term dz·w carries up to 2^-8 relative error: rtol 4e-3 of that magnitude.
 */
function grads(device: string, got: { dhidden: torl.Tensor; dweight: torl.Tensor }, ref: LmHeadRef, t: Tols): Record<string, Check> {
  const check = (g: torl.Tensor, want: Float64Array, mag: Float64Array, tol: Tol): Check =>
    device === 'cpu'
      ? { got: g.toArray() as Float32Array, want, mag, tol }
      : { got: g.toArray() as Float32Array, want, mag, tol: { rtol: 4e-3, atol: tol.atol } };
  return { dhidden: check(got.dhidden, ref.dhidden, ref.dhiddenMag, t.dhidden), dweight: check(got.dweight, ref.dweight, ref.dweightMag, t.dweight) };
}

function lmHeadCase(T: number, D: number, V: number, temperature: number, scale = 1, inputDType?: 'bf16'): OpCase {
  return {
    op: 'lmHeadLogprob',
    name: `T=${T} D=${D} V=${V} temperature=${temperature}${inputDType ? ' bf16 inputs' : ''}`,
    run(device) {
      const dtype = inputDType ?? floatDType(device);
      const x = inputs(T, D, V, dtype === 'bf16', scale);
      const H = torl.tensor(x.h, [T, D], { dtype, device }), W = torl.tensor(x.w, [V, D], { dtype, device });
      const I = torl.tensor(x.ids, [T], { device });
      const f = torl.ops.lmHeadLogprob(H, W, I, { temperature });
      const F = (a: Float32Array) => torl.tensor(a, [T], { device });
      const g = torl.ops.lmHeadLogprobBackward(F(x.gl), F(x.gh), H, W, I, f.lse, f.entropy, { temperature });
      const ref = lmHeadRef(x.h, x.w, x.ids, T, D, V, temperature, x.gl, x.gh);
      const t = tols(device, scale > 1);
      const cpu = device === 'cpu';
      return {
        logprob: { got: f.logprob.toArray() as Float32Array, want: ref.logprob, mag: cpu ? ref.logprobMag : undefined, tol: t.logprob },
        entropy: { got: f.entropy.toArray() as Float32Array, want: ref.entropy, mag: cpu ? ref.entropyMag : undefined, tol: t.entropy },
        lse: { got: f.lse.toArray() as Float32Array, want: ref.lse, mag: cpu ? ref.lseMag : undefined, tol: t.lse },
        ...grads(device, g, ref, t),
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
        ...grads(device, g, ref, tols(device, false)),
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
      const t = tols(device, false);
      return {
        loss: { got: [c.loss], want: [loss], tol: t.logprob },
        count: { got: [c.count], want: [count], tol: { rtol: 0, atol: 0 } },
        ...grads(device, { dhidden: c.dhidden!, dweight: c.dweight! }, ref, t),
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
  oneGradCase('dlogprob'),
  oneGradCase('dentropy'),
  crossEntropyCase(12, 16, 5000, 1.0, 'some'),
  crossEntropyCase(5, 8, 700, 0.6, 'none'),
  crossEntropyCase(4, 8, 300, 1.0, 'zero'),
];
