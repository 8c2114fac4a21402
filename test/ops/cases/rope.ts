// rope / ropeBackward: one token, packed sequences restarting at 0, positions
// past T (decode-like, the per-token table), Qwen2.5's 12/2/128 and 14/2/64
// layouts, theta 1e4 and 1e6, in place and out of place, bf16 in place.
import * as torl from '../../../lib/index.js';
import { rope64 } from '../../helpers/layers-ref.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { floatDType, type OpCase, type Tol } from '../table.js';

interface Spec {
  positions: Int32Array;
  Hq: number;
  Hkv: number;
  Dh: number;
  theta?: number;
  inPlace?: boolean;
  dtype?: 'bf16';
}

/** 0 … n−1 for each packed sequence length. */
export function packedPositions(lens: number[]): Int32Array {
  return Int32Array.from(lens.flatMap((n) => Array.from({ length: n }, (_, i) => i)));
}

function ropeCase(s: Spec, label: string): OpCase {
  const { positions, Hq, Hkv, Dh } = s;
  const T = positions.length;
  return {
    op: 'rope',
    name: `${label} Hq=${Hq} Hkv=${Hkv} Dh=${Dh}${s.theta ? ` theta=${s.theta}` : ''}${s.inPlace ? ' in place' : ''} ${s.dtype ?? ''}`.trim(),
    run(device) {
      const dtype = s.dtype ?? floatDType(device);
      const theta = s.theta ?? 1e6;
      const rand = rng(T * 13 + Hq * 5 + Dh);
      const round = (a: Float32Array) => (dtype === 'bf16' ? roundBf16(a) : a);
      const [q, k, dq, dk] = [Hq, Hkv, Hq, Hkv].map((H) => round(randn(T * H * Dh, rand)));
      const Tn = (a: Float32Array, H: number) => torl.tensor(a, [T, H, Dh], { dtype, device });
      const P = torl.tensor(positions, [T], { dtype: 'i32', device });
      const opts = { ...(s.theta ? { theta } : {}), ...(s.inPlace ? { inPlace: true } : {}) };
      const Q = Tn(q!, Hq), DQ = Tn(dq!, Hq);
      const f = torl.ops.rope(Q, Tn(k!, Hkv), P, opts);
      const b = torl.ops.ropeBackward(DQ, Tn(dk!, Hkv), P, opts);
      // in place: the results are the inputs' memory
      const qOut = (s.inPlace ? Q : f.q).toArray() as Float32Array;
      const dqOut = (s.inPlace ? DQ : b.dq).toArray() as Float32Array;

      const low = dtype === 'bf16' || device !== 'cpu';
      const tol: Tol = low ? { rtol: 2 ** -7, atol: 1e-6 } : { rtol: 1e-6, atol: 1e-7 };
      const [wq, wk, wdq, wdk] = [
        rope64(q!, positions, Hq, Dh, theta), rope64(k!, positions, Hkv, Dh, theta),
        rope64(dq!, positions, Hq, Dh, theta, -1), rope64(dk!, positions, Hkv, Dh, theta, -1),
      ];
      return {
        q: { got: qOut, want: wq!.v, mag: wq!.mag, tol },
        k: { got: f.k.toArray() as Float32Array, want: wk!.v, mag: wk!.mag, tol },
        dq: { got: dqOut, want: wdq!.v, mag: wdq!.mag, tol },
        dk: { got: b.dk.toArray() as Float32Array, want: wdk!.v, mag: wdk!.mag, tol },
      };
    },
  };
}

export const ropeCases: OpCase[] = [
  ropeCase({ positions: Int32Array.of(0), Hq: 2, Hkv: 1, Dh: 8 }, 'T=1 pos=0'),
  ropeCase({ positions: Int32Array.of(5000), Hq: 2, Hkv: 1, Dh: 8 }, 'T=1 pos=5000'),
  ropeCase({ positions: packedPositions([1, 37, 200]), Hq: 12, Hkv: 2, Dh: 128 }, 'lens=[1,37,200]'),
  ropeCase({ positions: packedPositions([70, 9]), Hq: 14, Hkv: 2, Dh: 64, inPlace: true }, 'lens=[70,9]'),
  ropeCase({ positions: Int32Array.from({ length: 17 }, (_, i) => 30000 + 97 * i), Hq: 3, Hkv: 1, Dh: 6, theta: 1e4 }, 'positions 30000+'),
  ropeCase({ positions: packedPositions([33, 8]), Hq: 4, Hkv: 2, Dh: 32, inPlace: true, dtype: 'bf16' }, 'lens=[33,8]'),
];
