// The GEMM runtime behaviours beyond the op table (test/ops/cases/linear.ts):
// optional bias, borrowed inputs, async execution off the JS thread.
import t from 'tap';
import { readFile } from 'node:fs/promises';

import * as torl from '../../lib/index.js';
import { compare, matmul64, randn, rng } from '../helpers/reference.js';

const f32 = (x: torl.Tensor) => x.toArray() as Float32Array;

t.test('linear without bias; backward without db', async (t) => {
  const rand = rng(3);
  const x = randn(5 * 9, rand), w = randn(11 * 9, rand);
  const y = torl.ops.linear(torl.tensor(x, [5, 9]), torl.tensor(w, [11, 9]));
  const ref = matmul64(x, w, 5, 11, 9, false, true);
  t.equal(compare(f32(y), ref.c, ref.mag, 1e-6), null);
  const g = torl.ops.linearBackward(torl.tensor(randn(55, rand), [5, 11]), torl.tensor(x, [5, 9]), torl.tensor(w, [11, 9]));
  t.equal(g.db, undefined, 'no db unless asked');
});

t.test('borrowed TypedArray input equals a copied one, and sees later writes', async (t) => {
  const rand = rng(4);
  const x = randn(8 * 16, rand), w = randn(4 * 16, rand);
  const X = torl.tensor(x, [8, 16], { copy: false });
  const W = torl.tensor(w, [4, 16]);
  const a = f32(torl.ops.linear(X, W));
  x[0] = 100; // the tensor borrows x's memory: the next product sees the write
  const b = f32(torl.ops.linear(X, W));
  t.not(a[0], b[0]);
  const ref = matmul64(x, w, 8, 4, 16, false, true);
  t.equal(compare(b, ref.c, ref.mag, 1e-6), null);
});

t.test('async GEMM runs off the JS thread: timers and file I/O keep going', async (t) => {
  const n = 1536;
  const rand = rng(5);
  const X = torl.tensor(randn(n * n, rand), [n, n]), W = torl.tensor(randn(n * n, rand), [n, n]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  let fileDoneFirst = false;
  const gemm = torl.ops.linearAsync(X, W).then((y) => y);
  const file = readFile(new URL(import.meta.url)).then(() => { fileDoneFirst = true; });
  const ticksAtStart = ticks;
  const y = await gemm;
  clearInterval(timer);
  await file;
  t.ok(ticks > ticksAtStart, `timer fired ${ticks - ticksAtStart} times during the GEMM`);
  t.ok(fileDoneFirst, 'a file read completed while the GEMM ran');
  // spot-check one row against float64
  const xs = X.toArray() as Float32Array, ws = W.toArray() as Float32Array, ys = f32(y);
  const row = 17;
  const want = new Float64Array(n), mag = new Float64Array(n);
  for (let j = 0; j < n; j++) for (let p = 0; p < n; p++) {
    want[j] = want[j]! + xs[row * n + p]! * ws[j * n + p]!;
    mag[j] = mag[j]! + Math.abs(xs[row * n + p]! * ws[j * n + p]!);
  }
  t.equal(compare(ys.subarray(row * n, row * n + n), want, mag, 1e-5), null);
});

t.test('async errors reject; the tensors an async op holds survive dispose()', async (t) => {
  const X = torl.tensor(new Float32Array(64 * 32).fill(1), [64, 32]);
  const W = torl.tensor(new Float32Array(16 * 32).fill(0.5), [16, 32]);
  const p = torl.ops.linearAsync(X, W);
  X.dispose();
  W.dispose();
  const y = f32(await p);
  t.ok(y.every((v) => v === 16), 'result computed from the inputs as they were');
  t.throws(() => torl.ops.linearAsync(X, W), /linear: x has been disposed/, 'a disposed input throws synchronously');
});

t.test('the compute pool: thousands of back-to-back regions from two callers give exact results', async (t) => {
  // Small GEMMs are many short parallel regions; the JS thread and the async runner
  // both start them, so regions end and begin while pool threads spin or sleep.
  const rand = rng(6);
  const shapes: [number, number, number][] = [[1, 64, 300], [3, 32, 129], [40, 48, 70]];
  const cases = shapes.map(([n, k, m]) => {
    const x = randn(n * k, rand), w = randn(m * k, rand);
    const X = torl.tensor(x, [n, k]), W = torl.tensor(w, [m, k]);
    const want = f32(torl.ops.linear(X, W));
    const ref = matmul64(x, w, n, m, k, false, true);
    t.equal(compare(want, ref.c, ref.mag, 1e-6), null, `${n}x${k}x${m} against float64`);
    return { X, W, want };
  });
  let mismatches = 0;
  const check = (i: number, y: torl.Tensor) => {
    const got = f32(y);
    if (got.some((v, j) => v !== cases[i]!.want[j])) mismatches++;
    y.dispose();
  };
  const asyncRuns = Array.from({ length: 300 }, (_, r) => torl.ops.linearAsync(cases[r % 3]!.X, cases[r % 3]!.W).then((y) => check(r % 3, y)));
  for (let r = 0; r < 1500; r++) check(r % 3, torl.ops.linear(cases[r % 3]!.X, cases[r % 3]!.W));
  await Promise.all(asyncRuns);
  t.equal(mismatches, 0, '1800 products, each identical to the first');
});
