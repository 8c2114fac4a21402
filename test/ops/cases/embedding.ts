// embedding / embeddingBackward: single token, repeated ids (the scatter-add
// must accumulate them), widths below, at and past the kernel's column block,
// bf16 tables.
import * as torl from '../../../lib/index.js';
import { embedding64, embeddingBackward64 } from '../../helpers/layers-ref.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { floatDType, type OpCase } from '../table.js';

function embeddingCase(T: number, V: number, D: number, dtypeOpt?: 'bf16'): OpCase {
  return {
    op: 'embedding',
    name: `T=${T} V=${V} D=${D} ${dtypeOpt ?? ''}`.trim(),
    run(device) {
      const dtype = dtypeOpt ?? floatDType(device);
      const rand = rng(T * 31 + V * 7 + D);
      const round = (a: Float32Array) => (dtype === 'bf16' ? roundBf16(a) : a);
      const w = round(randn(V * D, rand)), dy = round(randn(T * D, rand));
      // a few ids repeat many times: duplicates must accumulate
      const ids = Int32Array.from({ length: T }, (_, t) => (t % 3 === 0 ? t % 2 : Math.floor(rand() * V)));
      const I = torl.tensor(ids, [T], { dtype: 'i32', device });
      const y = torl.ops.embedding(I, torl.tensor(w, [V, D], { dtype, device }));
      const dw = torl.ops.embeddingBackward(torl.tensor(dy, [T, D], { dtype, device }), I, { vocabSize: V });
      const fwd = embedding64(ids, w, D), bwd = embeddingBackward64(dy, ids, V, D);
      return {
        y: { got: y.toArray() as Float32Array, want: fwd.v, mag: fwd.mag, tol: { rtol: 0, atol: 0 } },
        dw: { got: dw.toArray() as Float32Array, want: bwd.v, mag: bwd.mag, tol: { rtol: device === 'cpu' ? 1e-6 : 1e-5, atol: 1e-7 } },
      };
    },
  };
}

export const embeddingCases: OpCase[] = [
  embeddingCase(1, 5, 8),
  embeddingCase(37, 11, 64),
  embeddingCase(300, 50, 100),
  embeddingCase(129, 1000, 72),
  embeddingCase(64, 7, 130, 'bf16'),
];
