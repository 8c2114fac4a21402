// adamw / gradNorm / clipGradNorm against torch.optim.AdamW and
// clip_grad_norm_ written in float64: lists of tensors of sizes 1, 7 and past
// the 32768-element block, two consecutive steps (bias correction with state),
// bf16 params with f32 masters and bf16 grads.
import * as torl from '../../../lib/index.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { adamwRef, type AdamRefOptions } from '../../helpers/train-ref.js';
import type { OpCase } from '../table.js';

const SIZES = [[1], [7], [3, 13], [40000], [2, 33000]];
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const cat = (xs: ArrayLike<number>[]) => Float64Array.from(xs.flatMap((x) => Array.from(x)));

function adamwCase(paramDType: 'f32' | 'bf16', gradDType: 'f32' | 'bf16'): OpCase {
  return {
    op: 'adamw',
    name: `params ${paramDType}${paramDType === 'bf16' ? ' + f32 master' : ''}, grads ${gradDType}, two steps`,
    run(device) {
      const rand = rng(paramDType === 'bf16' ? 11 : 12);
      const p0 = SIZES.map((s) => randn(numel(s), rand));
      const grads = [0, 1].map(() => SIZES.map((s) => roundBf16(randn(numel(s), rand).map((x) => x * 0.1))));
      const T = (a: Float32Array, s: number[], dtype: 'f32' | 'bf16' = 'f32') => torl.tensor(a, s, { dtype, device });
      const params = p0.map((p, i) => T(p, SIZES[i]!, paramDType));
      const master = paramDType === 'bf16' ? p0.map((p, i) => T(p, SIZES[i]!)) : undefined;
      const m = SIZES.map((s) => torl.zeros(s, { device })), v = SIZES.map((s) => torl.zeros(s, { device }));
      const o = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
      let want: { p: Float64Array; m: Float64Array; v: Float64Array }[] = p0.map((p) => ({ p: Float64Array.from(p), m: new Float64Array(p.length), v: new Float64Array(p.length) }));
      for (const step of [1, 2]) {
        const g = grads[step - 1]!;
        torl.ops.adamw(params, g.map((x, i) => T(x, SIZES[i]!, gradDType)), m, v, { ...o, step, master });
        want = want.map((s, i) => adamwRef(s.p, g[i]!, s.m, s.v, { ...o, step } as AdamRefOptions));
      }
      const wantP = cat(want.map((s) => s.p));
      const tol = { rtol: 1e-5, atol: 1e-6 };
      const gotP = cat(params.map((t) => t.toArray() as Float32Array));
      const checks = {
        m: { got: cat(m.map((t) => t.toArray() as Float32Array)), want: cat(want.map((s) => s.m)), tol },
        v: { got: cat(v.map((t) => t.toArray() as Float32Array)), want: cat(want.map((s) => s.v)), tol },
      };
      if (!master) return { ...checks, params: { got: gotP, want: wantP, tol } };
      const gotMaster = cat(master.map((t) => t.toArray() as Float32Array));
      return {
        ...checks,
        master: { got: gotMaster, want: wantP, tol },
        // the bf16 params are exactly bf16(master)
        params: { got: gotP, want: roundBf16(Float32Array.from(gotMaster)), tol: { rtol: 0, atol: 0 } },
      };
    },
  };
}

function normCase(maxNorm: number): OpCase {
  return {
    op: 'clipGradNorm',
    name: `maxNorm ${maxNorm} (f32 and bf16 grads)`,
    run(device) {
      const rand = rng(Math.round(maxNorm * 100));
      const g = SIZES.map((s) => roundBf16(randn(numel(s), rand)));
      const all = cat(g);
      const norm = Math.sqrt(all.reduce((s, x) => s + x * x, 0));
      const tensors = g.map((x, i) => torl.tensor(x, SIZES[i]!, { dtype: i % 2 ? 'bf16' : 'f32', device }));
      const before = torl.ops.gradNorm(tensors).norm;
      const clipped = torl.ops.clipGradNorm(tensors, { maxNorm }).norm;
      const coef = Math.min(1, maxNorm / (norm + 1e-6));
      const of = (odd: number) => (xs: Float32Array[]) => cat(xs.filter((_, i) => i % 2 === odd));
      const [f32s, bf16s] = [of(0), of(1)];
      const got = tensors.map((t) => t.toArray() as Float32Array);
      const scaled = (xs: ArrayLike<number>) => Array.from(xs, (x) => x * coef);
      return {
        gradNorm: { got: [before], want: [norm], tol: { rtol: 1e-12, atol: 0 } },
        clipGradNorm: { got: [clipped], want: [norm], tol: { rtol: 1e-12, atol: 0 } },
        // f32 grads: the coefficient in f32 and the product each round once (2·2^-24)
        f32Grads: { got: f32s(got), want: scaled(f32s(g)), tol: { rtol: 2 ** -23, atol: 0 } },
        // bf16 grads are re-rounded after scaling: half a bf16 ulp (2^-9) more
        bf16Grads: { got: bf16s(got), want: scaled(bf16s(g)), tol: { rtol: 2 ** -8, atol: 0 } },
      };
    },
  };
}

export const adamwCases: OpCase[] = [
  adamwCase('f32', 'f32'),
  adamwCase('bf16', 'bf16'),
  adamwCase('f32', 'bf16'),
  normCase(1),
  normCase(1e6),
];
