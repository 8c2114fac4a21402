// linear / linearBackward: every layout the backward needs (x·wᵀ, dy·w, dyᵀ·x),
// shapes 1, 7, 129, few-row (decode path, N ≤ 8) and past every blocking size.
import * as torl from '../../../lib/index.js';
import { matmul64, randn, rng, roundBf16 } from '../../helpers/reference.js';
import { floatDType, type OpCase } from '../table.js';

// [N, K, M]
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 7, 129], [2, 33, 65], [3, 129, 7], [4, 300, 70], [5, 64, 64], [7, 7, 7],
  [17, 129, 129], [129, 7, 129], [129, 129, 1], [96, 256, 64], [97, 257, 65], [200, 520, 33],
  [6, 3, 4100], [8, 129, 33], [9, 40, 17],
];

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

/** biasF32: an f32 bias beside bf16 x and w (both backends accept it; the sum rounds once). */
function linearCase(N: number, K: number, M: number, inputDType: 'f32' | 'bf16' | 'device', biasF32 = false): OpCase {
  return {
    op: 'linear',
    name: `N=${N} K=${K} M=${M} ${inputDType === 'device' ? '' : inputDType}${biasF32 ? ' f32 bias' : ''}`.trim(),
    run(device) {
      const dtype = inputDType === 'device' ? floatDType(device) : inputDType;
      const rand = rng(N * 1_000_003 + K * 1009 + M);
      let [x, w, b, dy] = [randn(N * K, rand), randn(M * K, rand), randn(M, rand), randn(N * M, rand)];
      if (dtype === 'bf16') [x, w, b, dy] = [roundBf16(x), roundBf16(w), biasF32 ? b : roundBf16(b), roundBf16(dy)];
      const T = (a: Float32Array, s: number[]) => torl.tensor(a, s, { dtype, device });
      const X = T(x, [N, K]), W = T(w, [M, K]);
      const y = torl.ops.linear(X, W, biasF32 ? torl.tensor(b, [M], { device }) : T(b, [M]));
      const g = torl.ops.linearBackward(T(dy, [N, M]), X, W, { bias: true });

      // f32 accumulation error grows ~√K; a bf16 output adds half an ulp (2^-8 relative).
      const acc = (n: number) => ({ rtol: (device === 'cpu' ? 2e-6 : 1e-5) * Math.sqrt(n), atol: 1e-6 });
      const out = (n: number) => (dtype === 'bf16' ? { rtol: 2 ** -8 + acc(n).rtol, atol: 1e-6 } : acc(n));
      const fwd = matmul64(x, w, N, M, K, false, true);
      for (let i = 0; i < N * M; i++) {
        fwd.c[i] = fwd.c[i]! + b[i % M]!;
        fwd.mag[i] = fwd.mag[i]! + Math.abs(b[i % M]!);
      }
      const dx = matmul64(dy, w, N, K, M);
      const dw = matmul64(transpose(dy, N, M), x, M, K, N);
      const db = new Float64Array(M), dbMag = new Float64Array(M);
      for (let i = 0; i < N * M; i++) {
        db[i % M] = db[i % M]! + dy[i]!;
        dbMag[i % M] = dbMag[i % M]! + Math.abs(dy[i]!);
      }
      return {
        y: { got: y.toArray() as Float32Array, want: fwd.c, mag: fwd.mag, tol: out(K) },
        dx: { got: g.dx.toArray() as Float32Array, want: dx.c, mag: dx.mag, tol: out(M) },
        dw: { got: g.dw.toArray() as Float32Array, want: dw.c, mag: dw.mag, tol: acc(N) },
        db: { got: g.db!.toArray() as Float32Array, want: db, mag: dbMag, tol: acc(N) },
      };
    },
  };
}

export const linearCases: OpCase[] = [
  ...SHAPES.map(([N, K, M]) => linearCase(N, K, M, 'device')),
  // bf16 inputs on every backend (the CPU widens them while packing)
  ...SHAPES.filter((_, i) => i % 3 === 0).map(([N, K, M]) => linearCase(N, K, M, 'bf16')),
  linearCase(5, 64, 64, 'bf16', true),
  linearCase(97, 257, 65, 'bf16', true),
];
