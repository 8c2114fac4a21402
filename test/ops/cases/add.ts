// add / addInPlace: 0, 1, 7, 4097 and 3·32768 + 11 elements (off every vector width, and
// past the CPU's 32768-element work item into a partial fourth one), f32/bf16 in every mix (the result takes the first operand's dtype),
// alpha 1, negative and inexact, in place onto itself, and the async forms.
import * as torl from '../../../lib/index.js';
import { add64 } from '../../helpers/add-ref.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { floatDType, type Check, type OpCase } from '../table.js';

type Float = 'f32' | 'bf16';

interface Spec {
  shape: number[];
  /** dtypes of the two operands; 'device' = floatDType(device) */
  a: Float | 'device';
  b: Float | 'device';
  alpha?: number;
  inPlace?: boolean;
  /** src is dst itself (dst += alpha·dst) */
  self?: boolean;
  async?: boolean;
}

const exact = { rtol: 0, atol: 0 };

function addCase(s: Spec): OpCase {
  const n = s.shape.reduce((x, y) => x * y, 1);
  const alpha = s.alpha ?? 1;
  return {
    op: s.inPlace ? 'addInPlace' : 'add',
    name: [
      `[${s.shape.join(', ')}]`, s.a === s.b ? s.a : `${s.a}+${s.b}`, s.alpha !== undefined ? `alpha=${alpha}` : '',
      s.self ? 'onto itself' : '', s.async ? 'async' : '',
    ].filter(Boolean).join(' '),
    async run(device) {
      const [da, db] = [s.a, s.b].map((d) => (d === 'device' ? floatDType(device) : d)) as [Float, Float];
      const rand = rng(n * 7 + (s.inPlace ? 1 : 0) + (da === 'bf16' ? 2 : 0) + (db === 'bf16' ? 4 : 0));
      // the references see exactly the values the tensors store
      const a = da === 'bf16' ? roundBf16(randn(n, rand)) : randn(n, rand);
      const b = s.self ? a : db === 'bf16' ? roundBf16(randn(n, rand)) : randn(n, rand);
      const A = torl.tensor(a, s.shape, { dtype: da, device });
      const B = s.self ? A : torl.tensor(b, s.shape, { dtype: db, device });
      const opts = s.alpha !== undefined ? { alpha } : undefined;
      let out: torl.Tensor;
      if (s.inPlace) {
        const r = s.async ? await torl.ops.addInPlaceAsync(A, B, opts) : torl.ops.addInPlace(A, B, opts);
        if (r !== undefined) throw new Error('addInPlace must return undefined');
        out = A;
      } else {
        out = s.async ? await torl.ops.addAsync(A, B, opts) : torl.ops.add(A, B, opts);
      }
      const want = add64(a, b, alpha);
      // f32: α as f32, α·b and the sum each round once (≤ 3·2^-24 of |a| + |α·b|);
      // a bf16 result adds half an ulp of the sum (2^-9)
      const tol = da === 'bf16' ? { rtol: 2 ** -8, atol: 0 } : { rtol: 2 ** -22, atol: 0 };
      const checks: Record<string, Check> = {
        out: { got: out.toArray() as Float32Array, want: want.v, mag: want.mag, tol },
        shape: { got: out.shape, want: s.shape, tol: exact },
        // 1 when the result has the first operand's dtype
        dtype: { got: [out.dtype === da ? 1 : 0], want: [1], tol: exact },
      };
      return checks;
    },
  };
}

const SHAPES = [[0], [1], [7], [17, 241], [7, 14045]];
const MIXES: [Float | 'device', Float | 'device'][] = [
  ['device', 'device'], ['f32', 'bf16'], ['bf16', 'f32'], ['bf16', 'bf16'],
];

export const addCases: OpCase[] = [
  ...SHAPES.flatMap((shape) => MIXES.map(([a, b]) => addCase({ shape, a, b }))),
  ...SHAPES.flatMap((shape) => MIXES.map(([a, b]) => addCase({ shape, a, b, alpha: -0.75, inPlace: true }))),
  addCase({ shape: [3, 5, 7], a: 'f32', b: 'f32', alpha: 0.3 }),
  addCase({ shape: [4097], a: 'bf16', b: 'f32', alpha: 0.3, inPlace: true }),
  addCase({ shape: [4097], a: 'device', b: 'device', alpha: 2.5, inPlace: true, self: true }),
  addCase({ shape: [7], a: 'device', b: 'device', inPlace: true, self: true }),
  addCase({ shape: [4097], a: 'device', b: 'device', alpha: -1, async: true }),
  addCase({ shape: [4097], a: 'bf16', b: 'device', inPlace: true, async: true }),
];
