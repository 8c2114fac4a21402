// The Qwen2 runner against the float64 reference (test/helpers/qwen2-ref.ts):
// log-probs, entropies, SFT and GRPO losses and every parameter gradient, on
// tiny configs (GQA, tied and untied, qkv bias); micro-batches and
// recomputation change nothing; a packed batch equals its sequences one by one.
import t from 'tap';
import { Model, qwen2Config, type ModelConfig } from '../../lib/model/index.js';
import { qwen2Ref, type RefBatch, type RefConfig, type Weights64 } from '../helpers/qwen2-ref.js';
import { rng } from '../helpers/reference.js';
import { grpoLossRef, numericGrad, type GrpoRefOptions } from '../helpers/train-ref.js';

const CONFIGS: { name: string; config: ModelConfig }[] = [
  { name: 'tied, GQA 4/2, 2 layers', config: qwen2Config({ hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 8, vocabSize: 40, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 1, maxPositionEmbeddings: 64 }) },
  { name: 'untied, GQA 4/1, head_dim 16 ≠ D/H, 3 layers', config: qwen2Config({ hiddenSize: 24, intermediateSize: 40, numHiddenLayers: 3, numAttentionHeads: 4, numKeyValueHeads: 1, headDim: 16, vocabSize: 37, tieWordEmbeddings: false, ropeTheta: 1e4, rmsNormEps: 1e-5, bosTokenId: 0, eosTokenId: 1, maxPositionEmbeddings: 64 }) },
];

const LENGTHS = [6, 1, 9, 4];

function refConfig(c: ModelConfig): RefConfig {
  return { D: c.hiddenSize, I: c.intermediateSize, L: c.numHiddenLayers, Hq: c.numAttentionHeads, Hkv: c.numKeyValueHeads, Dh: c.headDim, V: c.vocabSize, theta: c.ropeTheta, eps: c.rmsNormEps, tied: c.tieWordEmbeddings };
}

function weights64(m: Model): Weights64 {
  return new Map([...m.parameters()].map(([n, w]) => [n, Float64Array.from(w.toArray() as Float32Array)]));
}

/** A packed batch of LENGTHS with random ids, the default targets (next token) and positions. */
function makeBatch(V: number, seed: number) {
  const rand = rng(seed);
  const cu = Int32Array.from([0, ...LENGTHS.map((_, i) => LENGTHS.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
  const T = cu[cu.length - 1]!;
  const tokens = Int32Array.from({ length: T }, () => Math.floor(rand() * V));
  const positions = new Int32Array(T), targets = new Int32Array(T), hasTarget = new Float64Array(T);
  for (let b = 0; b < LENGTHS.length; b++)
    for (let i = cu[b]!; i < cu[b + 1]!; i++) {
      positions[i] = i - cu[b]!;
      if (i + 1 < cu[b + 1]!) {
        targets[i] = tokens[i + 1]!;
        hasTarget[i] = 1;
      }
    }
  const ref: RefBatch = { tokens, positions, cu, targets };
  return { batch: { tokens, cuSeqlens: cu }, ref, hasTarget, T };
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);
/** max |got − want| relative to max |want| (per tensor). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!));
  return e / Math.max(maxAbs(want), 1e-12);
}

// Tolerances (f32 model vs float64 reference, tiny sizes): log-probs and entropies within 2e-5
// absolute; losses within 1e-5 relative; every gradient within 2e-4 of its tensor's largest entry.
const LP_TOL = 2e-5, LOSS_TOL = 1e-5, GRAD_TOL = 2e-4;

function checkGrads(tt: Pick<typeof t, "ok">, m: Model, want: Map<string, Float64Array>, tol = GRAD_TOL) {
  const got = m.gradients();
  for (const { name } of m.native.specs()) {
    const g = got.get(name), w = want.get(name);
    tt.ok(g && w, `${name}: gradient present`);
    if (!g || !w) continue;
    const e = relErr(g.toArray() as Float32Array, w);
    tt.ok(e <= tol, `${name}: gradient rel err ${e.toExponential(2)} ≤ ${tol}`);
  }
}

for (const { name, config } of CONFIGS) {
  t.test(name, async (tt) => {
    const model = Model.random(config, { seed: 7, std: 0.25 });
    const W = weights64(model);
    const rc = refConfig(config);
    const { batch, ref, hasTarget, T } = makeBatch(config.vocabSize, 11);

    tt.test('log-probs and entropies (temperature 1 and 0.7)', async (t2) => {
      for (const temperature of [1, 0.7]) {
        const got = await model.logprobs(batch, { temperature });
        const want = qwen2Ref(rc, W, ref, temperature);
        let lpErr = 0, entErr = 0;
        for (let i = 0; i < T; i++) {
          lpErr = Math.max(lpErr, Math.abs(got.logprobs[i]! - (hasTarget[i] ? want.logprob[i]! : 0)));
          entErr = Math.max(entErr, Math.abs(got.entropy[i]! - want.entropy[i]!));
        }
        t2.ok(lpErr <= LP_TOL, `T=${temperature}: log-prob max err ${lpErr.toExponential(2)}`);
        t2.ok(entErr <= LP_TOL, `T=${temperature}: entropy max err ${entErr.toExponential(2)}`);
      }
    });

    tt.test('a packed batch equals its sequences run one by one', async (t2) => {
      const packed = await model.logprobs(batch);
      let err = 0;
      for (let b = 0; b < LENGTHS.length; b++) {
        const [s, e] = [ref.cu[b]!, ref.cu[b + 1]!];
        const one = await model.logprobs({ tokens: batch.tokens.slice(s, e), cuSeqlens: Int32Array.from([0, e - s]) });
        for (let i = s; i < e; i++) err = Math.max(err, Math.abs(one.logprobs[i - s]! - packed.logprobs[i]!), Math.abs(one.entropy[i - s]! - packed.entropy[i]!));
      }
      // Packed (T = 20) and single sequences (T = 1…9) take different GEMM paths (tiles vs
      // the few-row dot product), so f32 sums round differently: a few ulps of |log p| ≈ 4.
      t2.ok(err <= 1e-5, `max difference ${err.toExponential(2)}`);
    });

    tt.test('SFT cross-entropy: loss and every parameter gradient', async (t2) => {
      const mask = Uint8Array.from({ length: T }, (_, i) => (i % 5 === 2 ? 0 : 1)); // some targets masked out
      const w = Float64Array.from(mask, (m, i) => m * hasTarget[i]!);
      const count = w.reduce((a, b) => a + b, 0);
      const gl = w.map((x) => -x / count);
      const want = qwen2Ref(rc, W, ref, 1, gl);
      const wantLoss = -want.logprob.reduce((a, lp, i) => a + lp * w[i]!, 0) / count;
      model.zeroGrad();
      const r = await model.forwardBackward({ ...batch, mask }, { type: 'crossEntropy' });
      t2.ok(Math.abs(r.loss - wantLoss) <= LOSS_TOL * Math.abs(wantLoss), `loss ${r.loss} vs ${wantLoss}`);
      t2.equal(r.stats.tokens, count);
      checkGrads(t2, model, want.grads);

      // Micro-batches (sequences grouped by a 7-token budget) and recomputation: the same step.
      const full = new Map([...model.gradients()].map(([n, g]) => [n, Float64Array.from(g.toArray() as Float32Array)]));
      model.zeroGrad();
      const split = await model.forwardBackward({ ...batch, mask }, { type: 'crossEntropy' }, { microBatchTokens: 7, recompute: true });
      t2.equal(split.stats.microBatches, 3, 'three micro-batches');
      t2.ok(Math.abs(split.loss - r.loss) <= 1e-6 * Math.abs(r.loss), 'same loss when split');
      t2.ok(split.stats.peakActivationBytes < r.stats.peakActivationBytes, `recompute + micro-batches lower the peak (${split.stats.peakActivationBytes} < ${r.stats.peakActivationBytes})`);
      checkGrads(t2, model, full, 1e-5);

      // Gradients accumulate until zeroGrad: a second identical step doubles them.
      await model.forwardBackward({ ...batch, mask }, { type: 'crossEntropy' });
      checkGrads(t2, model, new Map([...full].map(([n, g]) => [n, g.map((x) => 2 * x)])), 1e-5);
      model.zeroGrad();
    });

    tt.test('GRPO loss (dual clip, k3 KL, entropy bonus): loss, statistics, gradients; split = whole', async (t2) => {
      const rand = rng(5);
      const base = qwen2Ref(rc, W, ref, 1);
      const oldLogprobs = Float32Array.from(base.logprob, (x) => x + 0.3 * (rand() - 0.5));
      const refLogprobs = Float32Array.from(base.logprob, (x) => x + 0.2 * (rand() - 0.5));
      const seqAdv = Float32Array.from(LENGTHS, (_, b) => (b % 2 ? -1 : 1) * (0.5 + rand()));
      const adv = new Float64Array(T);
      for (let b = 0; b < LENGTHS.length; b++) adv.fill(seqAdv[b]!, ref.cu[b]!, ref.cu[b + 1]!);
      const mask = Float32Array.from(hasTarget, (h, i) => (i % 4 === 0 ? 0 : h));
      for (const aggregation of ['token-mean', 'seq-mean-token-mean'] as const) {
        const o: GrpoRefOptions = { clipLow: 0.2, clipHigh: 0.28, clipRatioC: 3, klCoef: 0.05, klType: 'k3', entropyCoef: 0.01, agg: aggregation, cuSeqlens: ref.cu };
        const lossOf = (lp: ArrayLike<number>, ent: ArrayLike<number>) => grpoLossRef(lp, oldLogprobs, adv, mask, refLogprobs, ent, o);
        const want = lossOf(base.logprob, base.entropy);
        const gl = numericGrad((lp) => lossOf(lp, base.entropy).loss, base.logprob);
        const gh = numericGrad((ent) => lossOf(base.logprob, ent).loss, base.entropy);
        const wantGrads = qwen2Ref(rc, W, ref, 1, gl, gh).grads;
        const spec = { type: 'grpo' as const, oldLogprobs, advantages: seqAdv, refLogprobs, clipRatio: { low: 0.2, high: 0.28 }, klCoef: 0.05, klType: 'k3' as const, entropyCoef: 0.01, aggregation, mask };
        model.zeroGrad();
        const r = await model.forwardBackward(batch, spec);
        t2.ok(Math.abs(r.loss - want.loss) <= 1e-5 * Math.max(1, Math.abs(want.loss)), `${aggregation}: loss ${r.loss} vs ${want.loss}`);
        for (const k of ['clipFraction', 'clipFractionLower', 'approxKl', 'klMean', 'entropyMean', 'ratioMean', 'ratioMax'] as const) {
          t2.ok(Math.abs(r.stats[k] - want[k]) <= 1e-5, `${aggregation}: ${k} ${r.stats[k]} vs ${want[k]}`);
        }
        checkGrads(t2, model, wantGrads, 5e-4);
        const whole = new Map([...model.gradients()].map(([n, g]) => [n, Float64Array.from(g.toArray() as Float32Array)]));
        model.zeroGrad();
        const split = await model.forwardBackward(batch, spec, { microBatchTokens: 8 });
        t2.ok(split.stats.microBatches > 1, `${aggregation}: ${split.stats.microBatches} micro-batches`);
        t2.ok(Math.abs(split.loss - r.loss) <= 1e-6 * Math.max(1, Math.abs(r.loss)), `${aggregation}: same loss when split`);
        t2.ok(Math.abs(split.stats.ratioMean - r.stats.ratioMean) <= 1e-6, `${aggregation}: same ratio mean when split`);
        checkGrads(t2, model, whole, 1e-5);
      }
      model.zeroGrad();
    });
  });
}

t.test('the float64 reference backward matches finite differences of its forward', async (tt) => {
  const { config } = CONFIGS[1]!;
  const model = Model.random(config, { seed: 3, std: 0.25 });
  const W = weights64(model);
  const rc = refConfig(config);
  const { ref, hasTarget } = makeBatch(config.vocabSize, 4);
  const loss = (w: Weights64) => -qwen2Ref(rc, w, ref, 1).logprob.reduce((a, lp, i) => a + lp * hasTarget[i]!, 0);
  const grads = qwen2Ref(rc, W, ref, 1, Float64Array.from(hasTarget, (h) => -h)).grads;
  const rand = rng(9);
  for (const [name, w] of W) {
    // Directional derivative along a random direction u: (L(w + hu) − L(w − hu)) / 2h vs ⟨∇L, u⟩.
    const u = Float64Array.from(w, () => rand() - 0.5);
    const h = 1e-5;
    const shifted = (s: number) => new Map([...W, [name, w.map((x, i) => x + s * h * u[i]!)]]);
    const fd = (loss(shifted(1)) - loss(shifted(-1))) / (2 * h);
    const an = grads.get(name)!.reduce((a, g, i) => a + g * u[i]!, 0);
    tt.ok(Math.abs(fd - an) <= 1e-6 * Math.max(1, Math.abs(an)), `${name}: ${an} vs finite difference ${fd}`);
  }
});
