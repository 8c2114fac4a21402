// Finite-difference gradient checks at small sizes: every input element of a
// loss L = Σ upstream ∘ f(inputs) is nudged by ±h in the float64 reference
// forward, and the central difference is compared with the gradient our
// native backward returns (f32, CPU).
import t from 'tap';

import * as torl from '../../lib/index.js';
import { attention64, rmsnorm64, rope64, swiglu64, type AttnShape } from '../helpers/layers-ref.js';
import { compare, randn, rng } from '../helpers/reference.js';
import { lmHeadRef, numericGrad } from '../helpers/train-ref.js';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Our gradient against the numeric one: |ours − fd| ≤ 1e-4·(|fd| + 1e-2). */
function check(tt: Pick<typeof t, 'equal'>, name: string, ours: torl.Tensor, fd: Float64Array) {
  const got = ours.toArray() as Float32Array;
  const mag = Array.from(fd, (v) => Math.abs(v) + 1e-2);
  tt.equal(compare(got, fd, mag, 1e-4, 0), null, name);
}

const f32 = (a: Float32Array, shape: number[]) => torl.tensor(a, shape);

t.test('embedding', async (t) => {
  const [V, D] = [4, 3];
  const ids = Int32Array.of(0, 2, 0, 3, 0);
  const rand = rng(1);
  const w = randn(V * D, rand), dy = randn(ids.length * D, rand);
  const dw = torl.ops.embeddingBackward(f32(dy, [ids.length, D]), torl.tensor(ids, [ids.length], { dtype: 'i32' }), { vocabSize: V });
  const L = (wd: Float64Array) => {
    let s = 0;
    ids.forEach((id, n) => {
      for (let d = 0; d < D; d++) s += dy[n * D + d]! * wd[id * D + d]!;
    });
    return s;
  };
  check(t, 'dw', dw, numericGrad(L, w));
});

t.test('rmsnorm with residual', async (t) => {
  const [T, D, eps] = [3, 5, 1e-6];
  const rand = rng(2);
  const [x, r, dy, dres] = [randn(T * D, rand), randn(T * D, rand), randn(T * D, rand), randn(T * D, rand)];
  const w = randn(D, rand);
  const W = f32(w, [D]);
  const f = torl.ops.rmsnorm(f32(x, [T, D]), W, f32(r, [T, D]), { eps });
  const g = torl.ops.rmsnormBackward(f32(dy, [T, D]), f.s!, W, f.rstd, f32(dres, [T, D]));
  // L = Σ dy ∘ y + Σ dres ∘ s  (s also flows down the residual stream)
  const L = (xd: ArrayLike<number>, rd: ArrayLike<number>, wd: ArrayLike<number>) => {
    const o = rmsnorm64(xd, rd, wd, D, eps);
    return dot(dy, o.y.v) + dot(dres, o.s);
  };
  check(t, 'dx', g.dx, numericGrad((xd) => L(xd, r, w), x));
  check(t, 'dresidual (= dx)', g.dx, numericGrad((rd) => L(x, rd, w), r));
  check(t, 'dw', g.dw, numericGrad((wd) => L(x, r, wd), w));
});

t.test('rope', async (t) => {
  const [H, Dh, theta] = [2, 6, 1e4];
  const pos = Int32Array.of(0, 1, 2, 0, 7);
  const T = pos.length;
  const rand = rng(3);
  const q = randn(T * H * Dh, rand), dy = randn(T * H * Dh, rand);
  const P = torl.tensor(pos, [T], { dtype: 'i32' });
  const k = randn(T * Dh, rand), dyk = randn(T * Dh, rand);
  const g = torl.ops.ropeBackward(f32(dy, [T, H, Dh]), f32(dyk, [T, 1, Dh]), P, { theta });
  check(t, 'dq', g.dq, numericGrad((qd) => dot(dy, rope64(qd, pos, H, Dh, theta).v), q));
  check(t, 'dk', g.dk, numericGrad((kd) => dot(dyk, rope64(kd, pos, 1, Dh, theta).v), k));
});

t.test('attention', async (t) => {
  const [Hq, Hkv, Dh] = [4, 2, 8];
  const cu = Int32Array.of(0, 2, 2, 5);
  const T = 5;
  const sh: AttnShape = { cu, Hq, Hkv, Dh, scale: 1 / Math.sqrt(Dh) };
  const rand = rng(4);
  const q = randn(T * Hq * Dh, rand).map((v) => v * 2);
  const [k, v] = [randn(T * Hkv * Dh, rand), randn(T * Hkv * Dh, rand)];
  const dout = randn(T * Hq * Dh, rand);
  const [Q, K, V] = [f32(q, [T, Hq, Dh]), f32(k, [T, Hkv, Dh]), f32(v, [T, Hkv, Dh])];
  const CU = torl.tensor(cu, [cu.length], { dtype: 'i32' });
  const f = torl.ops.attention(Q, K, V, CU);
  const g = torl.ops.attentionBackward(f32(dout, [T, Hq, Dh]), Q, K, V, f.out, f.lse, CU);
  const L = (qd: ArrayLike<number>, kd: ArrayLike<number>, vd: ArrayLike<number>) => dot(dout, attention64(qd, kd, vd, sh).out.v);
  check(t, 'dq', g.dq, numericGrad((qd) => L(qd, k, v), q));
  check(t, 'dk', g.dk, numericGrad((kd) => L(q, kd, v), k));
  check(t, 'dv', g.dv, numericGrad((vd) => L(q, k, vd), v));
});

t.test('swiglu', async (t) => {
  const n = 9;
  const rand = rng(5);
  const gate = randn(n, rand).map((x) => x * 6), up = randn(n, rand), dy = randn(n, rand);
  const g = torl.ops.swigluBackward(f32(dy, [n]), f32(gate, [n]), f32(up, [n]));
  check(t, 'dgate', g.dgate, numericGrad((gd) => dot(dy, swiglu64(gd, up).v), gate));
  check(t, 'dup', g.dup, numericGrad((ud) => dot(dy, swiglu64(gate, ud).v), up));
});

// Training ops: the fused LM-head log-prob (both upstream gradients, a
// temperature) and the SFT cross-entropy, against finite differences of the
// naive full-softmax reference.
t.test('lmHeadLogprob (logprob and entropy upstream, temperature 0.6)', async (t) => {
  const [T, D, V, temperature] = [3, 4, 7, 0.6];
  const rand = rng(31);
  const h = randn(T * D, rand), w = randn(V * D, rand), gl = randn(T, rand), gh = randn(T, rand);
  const ids = Int32Array.of(0, 6, 3);
  const I = torl.tensor(ids, [T]);
  const L = (hd: ArrayLike<number>, wd: ArrayLike<number>) => {
    const r = lmHeadRef(hd, wd, ids, T, D, V, temperature);
    return dot(gl, r.logprob) + dot(gh, r.entropy);
  };
  const H = f32(h, [T, D]), W = f32(w, [V, D]);
  const f = torl.ops.lmHeadLogprob(H, W, I, { temperature });
  const g = torl.ops.lmHeadLogprobBackward(f32(gl, [T]), f32(gh, [T]), H, W, I, f.lse, f.entropy, { temperature });
  check(t, 'dhidden', g.dhidden, numericGrad((x) => L(x, w), h));
  check(t, 'dweight', g.dweight, numericGrad((x) => L(h, x), w));
});

t.test('crossEntropy with a mask', async (t) => {
  const [T, D, V] = [4, 3, 6];
  const rand = rng(32);
  const h = randn(T * D, rand), w = randn(V * D, rand);
  const ids = Int32Array.of(5, 0, 2, 2), mask = Float32Array.of(1, 0, 1, 1);
  const L = (hd: ArrayLike<number>, wd: ArrayLike<number>) =>
    -dot(mask, lmHeadRef(hd, wd, ids, T, D, V, 1).logprob) / 3;
  const c = torl.ops.crossEntropy(f32(h, [T, D]), f32(w, [V, D]), torl.tensor(ids, [T]), f32(mask, [T]));
  check(t, 'dhidden', c.dhidden!, numericGrad((x) => L(x, w), h));
  check(t, 'dweight', c.dweight!, numericGrad((x) => L(h, x), w));
});
