// Bad input to the layer ops (embedding, rmsnorm, rope, attention, swiglu):
// each throws a torl error naming the argument, synchronously (also from the
// async forms), and nothing crashes.
import t from 'tap';

import * as torl from '../../lib/index.js';

const f32 = (shape: number[]) => torl.zeros(shape);
const i32 = (values: number[]) => torl.tensor(Int32Array.from(values), [values.length], { dtype: 'i32' });
const ops = torl.ops;

t.test('embedding', async (t) => {
  const w = f32([10, 4]);
  t.throws(() => ops.embedding(i32([0, 10]), w), /embedding: ids\[1\] = 10 is outside the vocabulary \[0, 10\)/);
  t.throws(() => ops.embedding(i32([-1]), w), /embedding: ids\[0\] = -1 is outside/);
  t.throws(() => ops.embedding(torl.tensor([0, 1], [2]), w), /embedding: ids must be i32, got f32/);
  t.throws(() => ops.embedding(i32([0]), f32([10])), /embedding: w must be 2-D \[V, D\]/);
  t.throws(() => ops.embeddingAsync(i32([11]), w), /embedding: ids\[0\] = 11/);
  t.throws(() => ops.embeddingBackward(f32([2, 4]), i32([0, 1]), {} as { vocabSize: number }), /embeddingBackward: option vocabSize must be a positive integer/);
  t.throws(() => ops.embeddingBackward(f32([2, 4]), i32([0, 5]), { vocabSize: 5 }), /embeddingBackward: ids\[1\] = 5 is outside the vocabulary \[0, 5\)/);
  t.throws(() => ops.embeddingBackward(f32([3, 4]), i32([0, 1]), { vocabSize: 5 }), /embeddingBackward: ids must be \[3\] \(T, the rows of dy\), got \[2\]/);
});

t.test('rmsnorm', async (t) => {
  const x = f32([3, 8]), w = f32([8]);
  t.throws(() => ops.rmsnorm(x, f32([7])), /rmsnorm: x is \[3, 8\] but w is \[7\]/);
  t.throws(() => ops.rmsnorm(x, f32([8, 1])), /rmsnorm: w must be 1-D \[D\]/);
  t.throws(() => ops.rmsnorm(f32([24]), w), /rmsnorm: x must be 2-D \[T, D\]/);
  t.throws(() => ops.rmsnorm(x, w, f32([2, 8])), /rmsnorm: residual must have x's shape \[3, 8\], got \[2, 8\]/);
  t.throws(() => ops.rmsnorm(x, w, null, { eps: -1 }), /rmsnorm: option eps must be ≥ 0, got -1/);
  t.throws(() => ops.rmsnorm(torl.zeros([3, 8], { dtype: 'i32' }), w), /rmsnorm: x must be f32 or bf16, got i32/);
  const rstd = f32([3]);
  t.throws(() => ops.rmsnormBackward(f32([2, 8]), x, w, rstd), /rmsnormBackward: s must have dy's shape \[2, 8\], got \[3, 8\]/);
  t.throws(() => ops.rmsnormBackward(x, x, w, f32([4])), /rmsnormBackward: rstd must be \[3\] \(T\), got \[4\]/);
  t.throws(() => ops.rmsnormBackward(x, x, w, torl.zeros([3], { dtype: 'bf16' })), /rmsnormBackward: rstd must be f32, got bf16/);
  t.throws(() => ops.rmsnormBackward(x, x, w, rstd, f32([3, 4])), /rmsnormBackward: dresidual must have s's shape/);
});

t.test('rope', async (t) => {
  const q = f32([4, 2, 8]), k = f32([4, 1, 8]), pos = i32([0, 1, 2, 3]);
  t.throws(() => ops.rope(q, k, i32([0, 1, -2, 3])), /rope: positions\[2\] = -2 is negative/);
  t.throws(() => ops.rope(q, k, i32([0, 1, 2])), /rope: positions must be \[4\] \(T\), got \[3\]/);
  t.throws(() => ops.rope(q, f32([3, 1, 8]), pos), /rope: k must be \[4, Hkv, 8\] to match q \[4, 2, 8\], got \[3, 1, 8\]/);
  t.throws(() => ops.rope(f32([4, 2, 7]), f32([4, 1, 7]), pos), /rope: the head dimension Dh of q must be even, got 7/);
  t.throws(() => ops.rope(f32([4, 16]), k, pos), /rope: q must be 3-D \[T, Hq, Dh\]/);
  t.throws(() => ops.rope(q, k, pos, { theta: 0 }), /rope: option theta must be > 0, got 0/);
  t.throws(() => ops.rope(q, k, torl.tensor([0, 1, 2, 3], [4])), /rope: positions must be i32, got f32/);
  t.throws(() => ops.ropeBackward(q, f32([4, 1, 6]), pos), /ropeBackward: dk must be \[4, Hkv, 8\] to match dq/);
  t.throws(() => ops.ropeAsync(q, k, i32([0, -1, 0, 0])), /rope: positions\[1\] = -1 is negative/);
});

t.test('attention', async (t) => {
  const q = f32([6, 4, 8]), k = f32([6, 2, 8]), v = f32([6, 2, 8]), cu = i32([0, 2, 6]);
  const fwd = (...a: Parameters<typeof ops.attention>) => () => ops.attention(...a);
  t.throws(fwd(q, k, v, i32([0, 4, 3, 6])), /attention: cuSeqlens must be non-decreasing, got cuSeqlens\[2\] = 3 < cuSeqlens\[1\] = 4/);
  t.throws(fwd(q, k, v, i32([0, 2, 5])), /attention: cuSeqlens must end at T = 6 \(the tokens in q\), got cuSeqlens\[2\] = 5/);
  t.throws(fwd(q, k, v, i32([1, 2, 6])), /attention: cuSeqlens must start at 0, got cuSeqlens\[0\] = 1/);
  t.throws(fwd(q, k, v, torl.tensor([0, 6], [2])), /attention: cuSeqlens must be i32, got f32/);
  t.throws(fwd(q, f32([6, 3, 8]), f32([6, 3, 8]), cu), /attention: the KV heads of k \(3\) must divide the query heads of q \(4\)/);
  t.throws(fwd(f32([6, 4, 12]), f32([6, 2, 12]), f32([6, 2, 12]), cu), /attention: the head dimension Dh of q must be a positive multiple of 8, got 12/);
  t.throws(fwd(q, f32([5, 2, 8]), v, cu), /attention: k must be \[6, Hkv, 8\] to match q \[6, 4, 8\], got \[5, 2, 8\]/);
  t.throws(fwd(q, k, f32([6, 1, 8]), cu), /attention: v must have k's shape \[6, 2, 8\], got \[6, 1, 8\]/);
  t.throws(fwd(q, k, torl.zeros([6, 2, 8], { dtype: 'bf16' }), cu), /attention: q, k and v must share one dtype, got f32, f32, bf16/);
  t.throws(fwd(q, k, v, cu, { scale: -1 }), /attention: option scale must be > 0, got -1/);
  t.throws(fwd(f32([6, 32]), k, v, cu), /attention: q must be 3-D \[T, Hq, Dh\]/);
  t.throws(() => ops.attentionAsync(q, k, v, i32([0, 7])), /attention: cuSeqlens must end at T = 6/);

  const lse = f32([4, 6]);
  t.throws(() => ops.attentionBackward(q, q, k, v, q, f32([6, 4]), cu), /attentionBackward: lse must be \[4, 6\] \(\[Hq, T\]\), got \[6, 4\]/);
  t.throws(() => ops.attentionBackward(f32([6, 4, 16]), q, k, v, q, lse, cu), /attentionBackward: dout must have q's shape \[6, 4, 8\], got \[6, 4, 16\]/);
  t.throws(() => ops.attentionBackward(q, q, k, v, f32([5, 4, 8]), lse, cu), /attentionBackward: out must have q's shape/);
  t.throws(() => ops.attentionBackward(q, q, k, v, q, lse, i32([0, 3, 2, 6])), /attentionBackward: cuSeqlens must be non-decreasing/);
});

t.test('swiglu', async (t) => {
  t.throws(() => ops.swiglu(f32([2, 8]), f32([2, 7])), /swiglu: up must have gate's shape \[2, 8\], got \[2, 7\]/);
  t.throws(() => ops.swiglu(torl.zeros([2], { dtype: 'i32' }), f32([2])), /swiglu: gate must be f32 or bf16, got i32/);
  t.throws(() => ops.swigluBackward(f32([3]), f32([2]), f32([2])), /swigluBackward: dy must have gate's shape \[2\], got \[3\]/);
  const untyped = ops.swigluBackward as (...args: unknown[]) => unknown;
  t.throws(() => untyped(f32([2])), /swigluBackward: missing argument gate/);
});
