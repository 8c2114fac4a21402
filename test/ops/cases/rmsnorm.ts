// rmsnorm / rmsnormBackward: with and without the fused residual add (and the
// residual-stream gradient), one row, widths off every vector size, Qwen2.5
// widths, eps 0 and 1e-5, large and tiny row scales, bf16 inputs.
import * as torl from '../../../lib/index.js';
import { rmsnorm64, rmsnormBackward64 } from '../../helpers/layers-ref.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { floatDType, type OpCase, type Tol } from '../table.js';

interface Spec {
  T: number;
  D: number;
  residual: boolean;
  eps?: number;
  /** multiplies x (row scale) */
  xScale?: number;
  dtype?: 'bf16';
}

function rmsnormCase(s: Spec): OpCase {
  const { T, D } = s;
  return {
    op: 'rmsnorm',
    name: `T=${T} D=${D}${s.residual ? ' +residual' : ''}${s.eps !== undefined ? ` eps=${s.eps}` : ''}${s.xScale ? ` x×${s.xScale}` : ''} ${s.dtype ?? ''}`.trim(),
    run(device) {
      const dtype = s.dtype ?? floatDType(device);
      const rand = rng(T * 101 + D * 3 + (s.residual ? 1 : 0));
      const round = (a: Float32Array) => (dtype === 'bf16' ? roundBf16(a) : a);
      const x = round(randn(T * D, rand).map((v) => v * (s.xScale ?? 1)));
      const r = s.residual ? round(randn(T * D, rand)) : null;
      const w = round(randn(D, rand)), dy = round(randn(T * D, rand));
      const dres = s.residual ? round(randn(T * D, rand)) : null;
      const eps = s.eps ?? 1e-6;
      const Tn = (a: Float32Array, shape: number[]) => torl.tensor(a, shape, { dtype, device });
      const W = Tn(w, [D]);
      const f = torl.ops.rmsnorm(Tn(x, [T, D]), W, r && Tn(r, [T, D]), s.eps !== undefined ? { eps } : {});
      const S = f.s ?? Tn(x, [T, D]);
      const g = torl.ops.rmsnormBackward(Tn(dy, [T, D]), S, W, f.rstd, dres && Tn(dres, [T, D]));

      const want = rmsnorm64(x, r, w, D, eps);
      // the backward is checked at the s the op returned (bf16-rounded when the output is bf16)
      const sGot = S.toArray() as Float32Array;
      const grads = rmsnormBackward64(dy, sGot, w, D, eps, dres);
      const low = dtype === 'bf16' || device !== 'cpu';
      const tol: Tol = low ? { rtol: 2 ** -7, atol: 1e-5 } : { rtol: 2e-6, atol: 1e-7 };
      // dw sums T rows; with bf16 s the forward's rstd (from the unrounded sum) differs from the reference's by ~2^-9
      const rowSum: Tol = low ? { rtol: 2 ** -7, atol: 1e-5 } : { rtol: 1e-6 * Math.sqrt(T), atol: 1e-6 };
      return {
        y: { got: f.y.toArray() as Float32Array, want: want.y.v, mag: want.y.mag, tol },
        ...(f.s ? { s: { got: sGot, want: want.s, tol } } : {}),
        // rstd is f32 from the unrounded f32 sum on every backend and dtype (bf16 only rounds the
        // stored s and y): the CPU bound, ×10 on a GPU for its summation order (a block reduction)
        rstd: { got: f.rstd.toArray() as Float32Array, want: want.rstd, tol: { rtol: device === 'cpu' ? 1e-6 : 1e-5, atol: 0 } },
        dx: { got: g.dx.toArray() as Float32Array, want: grads.dx.v, mag: grads.dx.mag, tol },
        dw: { got: g.dw.toArray() as Float32Array, want: grads.dw.v, mag: grads.dw.mag, tol: rowSum },
      };
    },
  };
}

export const rmsnormCases: OpCase[] = [
  rmsnormCase({ T: 1, D: 8, residual: false }),
  rmsnormCase({ T: 1, D: 7, residual: true }),
  rmsnormCase({ T: 37, D: 33, residual: true, eps: 1e-5 }),
  rmsnormCase({ T: 65, D: 896, residual: true }),
  rmsnormCase({ T: 40, D: 1536, residual: false }),
  // blocks of 512 and 1024 threads on a GPU (its backward needs __launch_bounds__ for them)
  rmsnormCase({ T: 3, D: 16384, residual: true }),
  rmsnormCase({ T: 2, D: 32768, residual: false }),
  rmsnormCase({ T: 9, D: 100, residual: false, eps: 0, xScale: 1e3 }),
  rmsnormCase({ T: 9, D: 100, residual: false, xScale: 1e-2 }),
  rmsnormCase({ T: 33, D: 64, residual: true, dtype: 'bf16' }),
];
