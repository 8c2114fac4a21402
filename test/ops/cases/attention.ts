// attention / attentionBackward: packed causal GQA against the float64
// reference. Sequence length 1; lengths that are not multiples of any tile
// size (the CPU tiles are 64); very different lengths packed together (1, 37,
// 200); an empty sequence; one long sequence (few work items: the backward
// splits each KV head's query heads into groups); the Qwen2.5-1.5B (12/2/128)
// and 0.5B (14/2/64) head layouts; head sizes that are multiples of 8 but not
// 16; peaked softmaxes (large logits) and a custom scale; bf16 inputs.
import * as torl from '../../../lib/index.js';
import { attention64, attentionBackward64, type AttnShape } from '../../helpers/layers-ref.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { floatDType, type OpCase, type Tol } from '../table.js';

interface Spec {
  lens: number[];
  Hq: number;
  Hkv: number;
  Dh: number;
  /** multiplies q, for peaked softmaxes */
  qScale?: number;
  /** the scale option (default 1/√Dh) */
  scale?: number;
  dtype?: 'f32' | 'bf16';
}

/** cuSeqlens for sequences of these lengths. */
export function cuSeqlens(lens: number[]): Int32Array {
  const cu = new Int32Array(lens.length + 1);
  lens.forEach((n, b) => (cu[b + 1] = cu[b]! + n));
  return cu;
}

function attentionCase(s: Spec): OpCase {
  const { lens, Hq, Hkv, Dh } = s;
  return {
    op: 'attention',
    name: `lens=[${lens.join(',')}] Hq=${Hq} Hkv=${Hkv} Dh=${Dh}${s.qScale ? ` q×${s.qScale}` : ''}${s.scale ? ` scale=${s.scale}` : ''} ${s.dtype ?? ''}`.trim(),
    run(device) {
      const dtype = s.dtype ?? floatDType(device);
      const cu = cuSeqlens(lens);
      const T = cu[lens.length]!;
      const rand = rng(T * 7919 + Hq * 131 + Hkv * 17 + Dh);
      const round = (a: Float32Array) => (dtype === 'bf16' ? roundBf16(a) : a);
      const q = round(randn(T * Hq * Dh, rand).map((x) => x * (s.qScale ?? 1)));
      const k = round(randn(T * Hkv * Dh, rand));
      const v = round(randn(T * Hkv * Dh, rand));
      const dout = round(randn(T * Hq * Dh, rand));
      const scale = s.scale ?? 1 / Math.sqrt(Dh);
      const Q = torl.tensor(q, [T, Hq, Dh], { dtype, device });
      const K = torl.tensor(k, [T, Hkv, Dh], { dtype, device });
      const V = torl.tensor(v, [T, Hkv, Dh], { dtype, device });
      const CU = torl.tensor(cu, [lens.length + 1], { dtype: 'i32', device });
      const opts = s.scale ? { scale: s.scale } : {};
      const f = torl.ops.attention(Q, K, V, CU, opts);
      const g = torl.ops.attentionBackward(torl.tensor(dout, [T, Hq, Dh], { dtype, device }), Q, K, V, f.out, f.lse, CU, opts);

      const sh: AttnShape = { cu, Hq, Hkv, Dh, scale };
      const want = attention64(q, k, v, sh);
      const grads = attentionBackward64(dout, q, k, v, sh);
      // f32 on the CPU; bf16 storage (and bf16 probabilities in GPU kernels) elsewhere
      const low = dtype === 'bf16' || device !== 'cpu';
      const tol: Tol = low ? { rtol: 2e-2, atol: 2e-3 } : { rtol: 5e-6, atol: 2e-7 };
      return {
        out: { got: f.out.toArray() as Float32Array, want: want.out.v, mag: want.out.mag, tol },
        lse: { got: f.lse.toArray() as Float32Array, want: want.lse, tol: low ? { rtol: 1e-2, atol: 1e-2 } : { rtol: 1e-6, atol: 3e-6 } },
        dq: { got: g.dq.toArray() as Float32Array, want: grads.dq.v, mag: grads.dq.mag, tol },
        dk: { got: g.dk.toArray() as Float32Array, want: grads.dk.v, mag: grads.dk.mag, tol },
        dv: { got: g.dv.toArray() as Float32Array, want: grads.dv.v, mag: grads.dv.mag, tol },
      };
    },
  };
}

export const attentionCases: OpCase[] = [
  attentionCase({ lens: [1], Hq: 2, Hkv: 1, Dh: 8 }),
  attentionCase({ lens: [1, 37, 200], Hq: 4, Hkv: 2, Dh: 64 }),
  attentionCase({ lens: [65, 130], Hq: 12, Hkv: 2, Dh: 128 }),
  attentionCase({ lens: [150, 3, 64], Hq: 14, Hkv: 2, Dh: 64 }),
  attentionCase({ lens: [70, 9], Hq: 3, Hkv: 3, Dh: 72 }),
  attentionCase({ lens: [129], Hq: 1, Hkv: 1, Dh: 8 }),
  attentionCase({ lens: [5, 0, 7], Hq: 2, Hkv: 2, Dh: 24 }),
  attentionCase({ lens: [300], Hq: 8, Hkv: 2, Dh: 16 }),
  attentionCase({ lens: [100], Hq: 2, Hkv: 1, Dh: 32, qScale: 8, scale: 0.3 }),
  attentionCase({ lens: [40, 20], Hq: 4, Hkv: 2, Dh: 16, dtype: 'bf16' }),
];
