// Pieces the trainer builds on: forwardBackward over the parts of a batch with the whole's
// normalizer = one call over the whole (losses, statistics and gradients), for cross-entropy and
// GRPO under each aggregation; AdamW's state round-trips (a restored optimizer continues bit
// for bit) and a mismatched state is refused by name.
import t from 'tap';

import { AdamW, Model, qwen2Config } from '../../lib/index.js';

const config = qwen2Config({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 8, vocabSize: 50, bosTokenId: 0, eosTokenId: 1, maxPositionEmbeddings: 64 });
const lens = [7, 12, 5, 9];
const T = lens.reduce((a, x) => a + x, 0);
const cu = Int32Array.from([0, ...lens.map((_, i) => lens.slice(0, i + 1).reduce((a, x) => a + x, 0))]);
const tokens = Int32Array.from({ length: T }, (_, i) => (i * 7 + 3) % 50);
const mask = Float32Array.from({ length: T }, (_, i) => (i % 5 === 0 ? 0 : 1));
const old = Float32Array.from({ length: T }, (_, i) => -3 - 0.1 * (i % 4));
const adv = Float32Array.from([0.5, -1, 1.5, -0.25]);

const slice = (a: Float32Array | Int32Array, b0: number, b1: number) => a.slice(cu[b0], cu[b1]);
const part = (b0: number, b1: number) => ({ tokens: slice(tokens, b0, b1) as Int32Array, cuSeqlens: Int32Array.from(cu.slice(b0, b1 + 1), (x) => x - cu[b0]!), mask: slice(mask, b0, b1) as Float32Array });
const grads = (m: Model) => new Map([...m.gradients()].map(([k, v]) => [k, v.toArray() as Float32Array]));

for (const agg of ['token-mean', 'seq-mean-token-mean', 'seq-mean-token-sum', 'crossEntropy'] as const) {
  t.test(`parts with the whole's normalizer = the whole (${agg})`, async (t) => {
    const m = Model.random(config, { seed: 2 });
    const loss = (b0: number, b1: number) => (agg === 'crossEntropy' ? { type: 'crossEntropy' as const } : { type: 'grpo' as const, oldLogprobs: slice(old, b0, b1) as Float32Array, advantages: adv.slice(b0, b1), aggregation: agg, entropyCoef: 0.01 });
    const whole = await m.forwardBackward(part(0, 4), loss(0, 4));
    const g0 = grads(m);
    m.zeroGrad();
    const normalizer = { tokens: whole.stats.tokens, sequences: 4 };
    const a = await m.forwardBackward(part(0, 1), loss(0, 1), { normalizer });
    const b = await m.forwardBackward(part(1, 4), loss(1, 4), { normalizer });
    t.ok(Math.abs(a.loss + b.loss - whole.loss) < 1e-6, `loss ${a.loss + b.loss} = ${whole.loss}`);
    if (agg !== 'crossEntropy') {
      t.ok(Math.abs(a.stats.pgLoss + b.stats.pgLoss - whole.stats.pgLoss) < 1e-6, 'pg_loss adds up');
      t.ok(Math.abs(a.stats.entropyMean + b.stats.entropyMean - whole.stats.entropyMean) < 1e-6, 'the entropy mean adds up');
      t.ok(whole.stats.entropyMean > 0, 'entropy reported');
    }
    let worst = 0;
    for (const [k, g] of grads(m)) g.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - g0.get(k)![i]!))));
    t.ok(worst < 1e-6, `gradients equal (max |Δ| ${worst.toExponential(1)})`);
    await t.rejects(m.forwardBackward(part(0, 1), loss(0, 1), { normalizer: { tokens: 0, sequences: 1 } }), /normalizer must be \{ tokens > 0, sequences ≥ 1/);
  });
}

t.test('AdamW state: a restored optimizer continues bit for bit; a mismatch is refused by name', async (t) => {
  const batch = part(0, 4);
  const run = async (m: Model, opt: AdamW) => {
    await m.forwardBackward(batch, { type: 'crossEntropy' });
    await opt.step();
    opt.zeroGrad();
  };
  const settings = { lr: 1e-2, maxGradNorm: 1, weightDecay: 0.1 };
  const a = Model.random(config, { seed: 4 });
  const optA = new AdamW(a, settings);
  await run(a, optA);
  const state = optA.state();
  const w1 = new Map([...a.parameters()].map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, data: v.toBytes() }]));
  await run(a, optA);
  const b = Model.fromWeights(config, w1);
  const optB = new AdamW(b, settings);
  optB.loadState(state);
  t.equal(optB.steps, 1, 'the step count is restored');
  await run(b, optB);
  for (const [k, v] of a.parameters()) t.ok(Buffer.from(v.toBytes()).equals(Buffer.from(b.native.weight(k).toBytes())), `${k}: bit for bit`);
  const missing = new Map(state.tensors);
  missing.delete('v.embed.weight');
  t.throws(() => optB.loadState({ step: 1, tensors: missing }), /the state has no tensor "v\.embed\.weight"/);
  const wrong = new Map(state.tensors);
  wrong.set('m.embed.weight', { dtype: 'f32', shape: [2, 2], data: new Uint8Array(16) });
  t.throws(() => optB.loadState({ step: 1, tensors: wrong }), /"m\.embed\.weight" is f32 \[2, 2\], expected f32 \[50, 32\]/);
});
