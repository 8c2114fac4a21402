// One name per concept across ops.grpoLoss, Model.forwardBackward's GRPO loss and the trainer's
// actor config: clipRatio, dualClip, klCoef, klType ('k1' | 'k2' | 'k3'), entropyCoef, aggregation.
// The old spellings still accepted are aliases: ops' clipLow/clipHigh/clipRatioC and veRL's KL names
// ('kl', 'mse', 'low_var_kl'); the trainer's actor.lossAggregation and actor.gradClip (= maxGradNorm, AdamW's name).
import t from 'tap';
import * as torl from '../../lib/index.js';
import { randn, rng } from '../helpers/reference.js';
import { grpoLossRef } from '../helpers/train-ref.js';

const T = 64;
const r = rng(11);
const logp = randn(T, r).map((x) => -1 + 0.3 * x);
const old = logp.map((x, i) => x + 0.4 * Math.sin(i));
const adv = randn(T, r);
const ref = logp.map((x, i) => x + 0.2 * Math.cos(i));
const mask = Float32Array.from({ length: T }, (_, i) => (i % 5 === 0 ? 0 : 1));
const cu = Int32Array.from([0, 20, 64]);
const f32 = (a: ArrayLike<number>) => torl.tensor(Float32Array.from(a), [a.length]);

t.test('ops.grpoLoss: the names and their aliases give the same loss, and the reference\'s', async (t) => {
  const args = [f32(logp), f32(old), f32(adv), f32(mask)] as const;
  const common = { refLogp: f32(ref), cuSeqlens: torl.tensor(cu), entropyCoef: 0, aggregation: 'seq-mean-token-mean' as const };
  const named = torl.ops.grpoLoss(...args, { ...common, clipRatio: { low: 0.2, high: 0.28 }, dualClip: 2.5, klCoef: 0.1, klType: 'k3' });
  const aliased = torl.ops.grpoLoss(...args, { ...common, clipLow: 0.2, clipHigh: 0.28, dualClip: true, clipRatioC: 2.5, klCoef: 0.1, klType: 'low_var_kl' });
  const asyncNamed = await torl.ops.grpoLossAsync(...args, { ...common, clipRatio: { low: 0.2, high: 0.28 }, dualClip: 2.5, klCoef: 0.1, klType: 'k3' });
  const want = grpoLossRef(logp, old, adv, mask, ref, null, { clipLow: 0.2, clipHigh: 0.28, clipRatioC: 2.5, klCoef: 0.1, klType: 'k3', entropyCoef: 0, agg: 'seq-mean-token-mean', cuSeqlens: cu });
  t.ok(Math.abs(named.loss - want.loss) < 1e-5 * Math.max(1, Math.abs(want.loss)), `loss ${named.loss} vs reference ${want.loss}`);
  t.equal(aliased.loss, named.loss);
  t.equal(asyncNamed.loss, named.loss);
  t.same([...(aliased.dlogp.toArray() as Float32Array)], [...(named.dlogp.toArray() as Float32Array)]);
  // a number sets both bounds; dualClip false turns it off
  const sym = torl.ops.grpoLoss(...args, { clipRatio: 0.2, dualClip: false });
  const symAlias = torl.ops.grpoLoss(...args, { clipLow: 0.2, clipHigh: 0.2, dualClip: false });
  const symRef = grpoLossRef(logp, old, adv, mask, null, null, { clipLow: 0.2, clipHigh: 0.2, clipRatioC: null, klCoef: 0, klType: 'k3', entropyCoef: 0, agg: 'token-mean' });
  t.equal(sym.loss, symAlias.loss);
  t.ok(Math.abs(sym.loss - symRef.loss) < 1e-5 * Math.max(1, Math.abs(symRef.loss)));
  t.throws(() => torl.ops.grpoLoss(...args, { clipRatio: 0.2, clipLow: 0.1 }), /grpoLoss: give clipRatio or its aliases clipLow\/clipHigh, not both/);
  t.throws(() => torl.ops.grpoLoss(...args, { dualClip: 3, clipRatioC: 2 }), /grpoLoss: give dualClip: c or its alias clipRatioC, not both/);
  t.throws(() => torl.ops.grpoLoss(...args, { clipRatio: -1 }), /grpoLoss: clipLow must be in \(0, 1\), got -1/);
});

t.test('Model.forwardBackward takes the same names (klCoef, klType, clipRatio, dualClip, aggregation)', async (t) => {
  const model = torl.Model.random(torl.qwen2Config({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1, vocabSize: 64, bosTokenId: 0, eosTokenId: 1 }), { seed: 5 });
  const tokens = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 64);
  const batch = { tokens, cuSeqlens: Int32Array.from([0, 5, 12]) };
  const { logprobs } = await model.logprobs(batch);
  const oldLogprobs = logprobs.map((x, i) => x + 0.1 * Math.sin(i));
  const refLogprobs = logprobs.map((x, i) => x + 0.1 * Math.cos(i));
  const advantages = Float32Array.from([1, -1]);
  const { loss, stats } = await model.forwardBackward(batch, { type: 'grpo', oldLogprobs, advantages, refLogprobs, clipRatio: 0.2, dualClip: 3, klCoef: 0.5, klType: 'k1', aggregation: 'token-mean' });
  // the same loss through ops.grpoLoss on the model's own log-probs (targets: next token; the last of each sequence has none)
  const m = Float32Array.from(tokens, (_, i) => (i === 4 || i === 11 ? 0 : 1));
  const perToken = Float32Array.from(tokens, (_, i) => (i < 5 ? 1 : -1));
  const want = torl.ops.grpoLoss(f32(logprobs), f32(oldLogprobs), f32(perToken), f32(m), { refLogp: f32(refLogprobs), clipRatio: 0.2, dualClip: 3, klCoef: 0.5, klType: 'k1', aggregation: 'token-mean' });
  t.ok(Math.abs(loss - want.loss) < 1e-5, `Model ${loss} vs ops ${want.loss}`);
  t.ok(Math.abs(stats.klMean - want.klMean) < 1e-5, 'the KL term is the k1 estimator');
  await t.rejects(model.forwardBackward(batch, { type: 'grpo', oldLogprobs, advantages, klType: 'low_var_kl' as 'k3' }), /Model.forwardBackward: loss.klType must be 'k1', 'k2' or 'k3', got "low_var_kl"/);
});

t.test('trainer config: actor.aggregation and actor.maxGradNorm, with actor.lossAggregation and actor.gradClip as aliases', (t) => {
  const base = { model: { path: 'm' }, data: { train: 'd.jsonl' } };
  const named = torl.resolveTrainerConfig({ ...base, actor: { aggregation: 'seq-mean-token-sum' } });
  const aliased = torl.resolveTrainerConfig({ ...base, actor: { lossAggregation: 'seq-mean-token-sum' } });
  t.equal(named.actor.aggregation, 'seq-mean-token-sum');
  t.same(aliased, named, 'the alias resolves to the name; the resolved config holds only the name');
  t.notOk('lossAggregation' in aliased.actor);
  t.equal(torl.resolveTrainerConfig({ ...base, actor: { gradClip: 0.5 } }).actor.maxGradNorm, 0.5, 'gradClip is maxGradNorm');
  t.notOk('gradClip' in torl.resolveTrainerConfig({ ...base, actor: { gradClip: 0.5 } }).actor);
  t.throws(() => torl.resolveTrainerConfig({ ...base, actor: { gradClip: 1, maxGradNorm: 1 } }), /actor\.gradClip: an alias of actor\.maxGradNorm; give one of them/);
  t.throws(() => torl.resolveTrainerConfig({ ...base, actor: { lossAggregation: 'token-mean', aggregation: 'token-mean' } }), /actor\.lossAggregation: an alias of actor\.aggregation; give one of them/);
  t.throws(() => torl.resolveTrainerConfig({ ...base, actor: { lossAggregation: 'mean' } }), /actor\.aggregation: /);
  t.equal(torl.grpoLossSpec({ oldLogprobs: new Float32Array(1), advantages: new Float32Array(1), refLogprobs: undefined } as never, named.actor, 1).aggregation, 'seq-mean-token-sum');
  t.end();
});
