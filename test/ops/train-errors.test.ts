// Bad input to the training ops throws an error naming the argument; nothing crashes.
import t from 'tap';

import * as torl from '../../lib/index.js';

const f32 = (n: number, shape = [n]) => torl.tensor(new Float32Array(n), shape);
const i32 = (a: number[]) => torl.tensor(Int32Array.from(a), [a.length]);
const ops = torl.ops;

t.test('lmHeadLogprob / lmHeadLogprobBackward / crossEntropy', (t) => {
  const h = f32(6, [2, 3]), w = f32(12, [4, 3]);
  t.throws(() => ops.lmHeadLogprob(h, w, i32([0, 4])), /lmHeadLogprob: targets\[1\] = 4 is out of range \[0, 4\)/);
  t.throws(() => ops.lmHeadLogprob(h, w, i32([-1, 0])), /targets\[0\] = -1 is out of range/);
  t.throws(() => ops.lmHeadLogprob(h, w, i32([0, 1]), { temperature: -1 }), /lmHeadLogprob: temperature must be > 0, got -1/);
  t.throws(() => ops.lmHeadLogprob(h, w, i32([0, 1]), { temperature: 0 }), /temperature must be > 0/);
  t.throws(() => ops.lmHeadLogprob(h, f32(8, [4, 2]), i32([0, 1])), /their last dimensions \(D\) must match/);
  t.throws(() => ops.lmHeadLogprob(h, w, i32([0, 1, 2])), /lmHeadLogprob: targets must be \[2\] \(T\), got \[3\]/);
  t.throws(() => ops.lmHeadLogprob(h, w, f32(2)), /targets must be i32, got f32/);
  const f = ops.lmHeadLogprob(h, w, i32([0, 1]));
  t.throws(() => ops.lmHeadLogprobBackward(null, null, h, w, i32([0, 1]), f.lse, f.entropy), /give dlogprob, dentropy or both/);
  t.throws(() => ops.lmHeadLogprobBackward(f32(2), null, h, w, i32([0, 1]), f32(3), f.entropy), /lmHeadLogprobBackward: lse must be \[2\]/);
  t.throws(() => ops.lmHeadLogprobBackward(f32(5), null, h, w, i32([0, 1]), f.lse, f.entropy), /dlogprob must be \[2\]/);
  t.throws(() => ops.crossEntropy(h, w, i32([0, 1]), f32(3)), /crossEntropy: mask must be \[2\] \(T\), got \[3\]/);
  t.throws(() => ops.crossEntropy(h, w, i32([0, 1]), i32([1, 1])), /crossEntropy: mask must be f32 or u8, got i32/);
  t.end();
});

t.test('grpoLoss', (t) => {
  const v = f32(4);
  t.throws(() => ops.grpoLoss(v, v, v, v, { clipLow: 0 }), /grpoLoss: clipLow must be in \(0, 1\), got 0/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { clipHigh: -0.1 }), /grpoLoss: clipHigh must be > 0, got -0.1/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { clipRatioC: 1 }), /clipRatioC \(the dual-clip bound\) must be > 1, got 1/);
  t.throws(() => ops.grpoLoss(v, f32(5), v, v), /grpoLoss: oldLogp must be \[4\] \(T, the length of logp\), got \[5\]/);
  t.throws(() => ops.grpoLoss(v, v, f32(3), v), /advantages must be \[4\]/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { klCoef: 0.1 }), /klCoef is 0.1 but refLogp was not given/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { entropyCoef: 0.1 }), /entropyCoef is 0.1 but entropy was not given/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { aggregation: 'seq-mean-token-mean' }), /seq-mean aggregations need cuSeqlens/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { cuSeqlens: i32([0, 3]) }), /cuSeqlens must end at T = 4, got 3/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { cuSeqlens: i32([0, 3, 2, 4]) }), /cuSeqlens must be non-decreasing/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { cuSeqlens: i32([1, 4]) }), /cuSeqlens\[0\] must be 0/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { klType: 'k4' as 'k1' }), /option klType must be 'k1'/);
  t.throws(() => ops.grpoLoss(v, v, v, v, { aggregation: 'sum' as 'token-mean' }), /option aggregation must be/);
  t.end();
});

t.test('grpoAdvantages', (t) => {
  t.throws(() => ops.grpoAdvantages(f32(6), { groupSize: 4 }), /rewards has 6 entries, not a multiple of groupSize 4/);
  t.throws(() => ops.grpoAdvantages(f32(6), {}), /groupSize must be ≥ 1 \(or give groupIds\)/);
  t.throws(() => ops.grpoAdvantages(f32(2), { groupSize: 2, groupIds: i32([0, 1]) }), /give groupSize or groupIds, not both/);
  t.throws(() => ops.grpoAdvantages(f32(2), { groupIds: i32([0]) }), /groupIds must be \[2\]/);
  t.end();
});

t.test('adamw / gradNorm / clipGradNorm', (t) => {
  const p = [f32(3), f32(4)], g = [f32(3), f32(4)];
  const m = () => [f32(3), f32(4)];
  t.throws(() => ops.adamw(p, [f32(3)], m(), m(), { step: 1 }), /adamw: grads has 1 tensors but params has 2/);
  t.throws(() => ops.adamw(p, g, [f32(3), f32(5)], m(), { step: 1 }), /adamw: m\[1\] must have params\[1\]'s shape \[4\], got \[5\]/);
  t.throws(() => ops.adamw(p, g, m(), m(), { step: 0 }), /adamw: step must be ≥ 1/);
  t.throws(() => ops.adamw(p, g, m(), m(), {} as { step: number }), /step must be ≥ 1/);
  t.throws(() => ops.adamw(p, g, m(), m(), { step: 1, beta1: 1 }), /beta1 must be in \[0, 1\), got 1/);
  t.throws(() => ops.adamw(p, g, m(), m(), { step: 1, eps: 0 }), /eps must be > 0/);
  const bf = [torl.zeros([3], { dtype: 'bf16' })];
  t.throws(() => ops.adamw(bf, [f32(3)], [f32(3)], [f32(3)], { step: 1 }), /params\[0\] is bf16, so an f32 master copy is needed/);
  t.throws(() => ops.adamw(p, g, m(), [f32(3), i32([1, 2, 3, 4])], { step: 1 }), /v\[1\] must be f32, got i32/);
  t.throws(() => ops.adamw(p, [f32(3), 5 as unknown as torl.Tensor], m(), m(), { step: 1 }), /adamw: grads\[1\] must be a Tensor/);
  t.throws(() => ops.gradNorm([i32([1])]), /gradNorm: grads\[0\] must be f32 or bf16, got i32/);
  t.throws(() => ops.gradNorm(f32(3) as unknown as torl.Tensor[]), /gradNorm: grads must be an array of Tensors/);
  t.throws(() => ops.clipGradNorm(g, { maxNorm: 0 }), /clipGradNorm: maxNorm must be > 0, got 0/);
  t.throws(() => ops.clipGradNorm(g, {} as { maxNorm: number }), /clipGradNorm: option maxNorm is required/);
  t.end();
});

t.test('sample', (t) => {
  const l = f32(6, [2, 3]);
  t.throws(() => ops.sample(l, { temperature: -0.5 }), /sample: temperature\[0\] must be ≥ 0, got -0.5/);
  t.throws(() => ops.sample(l, { topP: [0.9, 0] }), /sample: topP\[1\] must be in \(0, 1\], got 0/);
  t.throws(() => ops.sample(l, { topP: 1.5 }), /topP\[0\] must be in \(0, 1\], got 1.5/);
  t.throws(() => ops.sample(l, { minP: 1 }), /minP\[0\] must be in \[0, 1\), got 1/);
  t.throws(() => ops.sample(l, { topK: -1 }), /option topK\[0\] must be a non-negative integer, got -1/);
  t.throws(() => ops.sample(l, { seed: 1.5 }), /option seed\[0\] must be a non-negative integer/);
  t.throws(() => ops.sample(l, { temperature: [1, 1, 1] }), /option temperature has 3 entries but logits has 2 rows/);
  t.throws(() => ops.sample(l, { temperature: 'hot' as unknown as number }), /option temperature must be a number or an array/);
  t.throws(() => ops.sample(f32(3)), /sample: logits must be 2-D \[B, V\], got shape \[3\]/);
  t.end();
});
