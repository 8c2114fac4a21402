// attention / attentionBackward: packed causal GQA against the float64
// reference. Sequence length 1; lengths that are not multiples of any tile
// size (the CPU tiles are 64); very different lengths packed together (1, 37,
// 200); an empty sequence; one long sequence (few work items: the backward
// splits each KV head's query heads into groups); the Qwen2.5-1.5B (12/2/128)
// and 0.5B (14/2/64) head layouts; head sizes that are multiples of 8 but not
// 16; peaked softmaxes (large logits) and a custom scale; bf16 inputs; bf16
// q/k/v with an f32 dout whose sub-bf16 part alone carries dq and dk.
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
  /**
   * bf16 q/k/v with an f32 dout = 2^10·(1 + δ), |δ| < 2^-9 (so dout rounds to exactly 2^10 in
   * bf16; the 2^10 lifts dq and dk well above the bf16 tolerance's atol), and
   * v antisymmetric between the halves of each head (v[d + Dh/2] = −v[d]), so out is too and
   * dp − Δ = dout·(v − out) = δ·(v − out): dq and dk come from δ alone, and a backend that
   * rounded dout to bf16 would return ~0 for them.
   */
  f32Dout?: boolean;
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
    name: `lens=[${lens.join(',')}] Hq=${Hq} Hkv=${Hkv} Dh=${Dh}${s.qScale ? ` q×${s.qScale}` : ''}${s.scale ? ` scale=${s.scale}` : ''} ${s.dtype ?? ''}${s.f32Dout ? ' f32 dout' : ''}`.trim(),
    run(device) {
      const dtype = s.f32Dout ? 'bf16' : (s.dtype ?? floatDType(device));
      const cu = cuSeqlens(lens);
      const T = cu[lens.length]!;
      const rand = rng(T * 7919 + Hq * 131 + Hkv * 17 + Dh);
      const round = (a: Float32Array) => (dtype === 'bf16' ? roundBf16(a) : a);
      const q = round(randn(T * Hq * Dh, rand).map((x) => x * (s.qScale ?? 1)));
      const k = round(randn(T * Hkv * Dh, rand));
      const v = round(randn(T * Hkv * Dh, rand));
      let dout = round(randn(T * Hq * Dh, rand));
      if (s.f32Dout) {
        for (let r = 0; r < T * Hkv; r++)
          for (let d = 0; d < Dh / 2; d++) v[r * Dh + d + Dh / 2] = -v[r * Dh + d]!;
        dout = dout.map((x) => 2 ** 10 * (1 + Math.max(-0.9, Math.min(0.9, x / 3)) * 2 ** -9));
      }
      const doutDType = s.f32Dout ? 'f32' : dtype;
      const scale = s.scale ?? 1 / Math.sqrt(Dh);
      const Q = torl.tensor(q, [T, Hq, Dh], { dtype, device });
      const K = torl.tensor(k, [T, Hkv, Dh], { dtype, device });
      const V = torl.tensor(v, [T, Hkv, Dh], { dtype, device });
      const CU = torl.tensor(cu, [lens.length + 1], { dtype: 'i32', device });
      const opts = s.scale ? { scale: s.scale } : {};
      const f = torl.ops.attention(Q, K, V, CU, opts);
      const g = torl.ops.attentionBackward(torl.tensor(dout, [T, Hq, Dh], { dtype: doutDType, device }), Q, K, V, f.out, f.lse, CU, opts);

      const sh: AttnShape = { cu, Hq, Hkv, Dh, scale };
      const want = attention64(q, k, v, sh);
      const grads = attentionBackward64(dout, q, k, v, sh);
      // CPU f32: f32 rounding only. bf16 q/k/v (every GPU case; floatDType): out, dq, dk and dv are
      // stored in bf16 (2^-8 of each), the backward's Δ = Σ dout·out is taken from the bf16-rounded
      // out, an error the reference magnitudes of dq and dk do not bound (it grows with Σ|dout·v|
      // over Σ p·|dp|), and on a GPU the flash kernels also round P and dS = P∘(dP − Δ) to bf16
      // for their MMAs (2^-8 of each term): 2e-2. lse carries none of that: it is f32 from f32
      // scores on both backends (bf16·bf16 products are exact, accumulation fp32, l summed from
      // the unrounded p), so the CPU keeps the f32 bound whatever the dtype; the GPU's lse differs
      // by what cannot be bit-identical (test/ops/table.ts: MMA accumulation order and truncation,
      // exp2f / log2f, the online softmax's summation order): ~10× that bound, sized from those
      // (up to ~300 keys a row: n·u ≈ 2e-5 worst case) and not yet measured on a GPU.
      const low = dtype === 'bf16' || device !== 'cpu';
      const tol: Tol = low ? { rtol: 2e-2, atol: 2e-3 } : { rtol: 5e-6, atol: 2e-7 };
      const lseTol: Tol = device === 'cpu' ? { rtol: 1e-6, atol: 3e-6 } : { rtol: 1e-5, atol: 3e-5 };
      return {
        out: { got: f.out.toArray() as Float32Array, want: want.out.v, mag: want.out.mag, tol },
        lse: { got: f.lse.toArray() as Float32Array, want: want.lse, tol: lseTol },
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
  attentionCase({ lens: [40, 23], Hq: 4, Hkv: 2, Dh: 64, f32Dout: true }), // Dh 64: the flash path's size
];
