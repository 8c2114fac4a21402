// One GRPO step of the trainer against a step built by hand from the same samples: rewards,
// group advantages (float64, unbiased std), the loss mask (0 exactly on tool output), the
// GRPO loss and the AdamW update of every parameter — with the trainer splitting the batch
// into micro-batches and the reference taking it whole; both old-log-prob sources.
import { join } from 'node:path';
import t from 'tap';

import { AdamW, GrpoTrainer, Model, type RolloutSample } from '../../lib/index.js';
import { lengthReward, trainerFixture } from '../helpers/trainer-fixture.js';

const fx = await trainerFixture();

/** The hand-built packed batch: every sample whole, the position before each response token carries its mask and old log-prob. */
function handBatch(samples: RolloutSample[], old: Float32Array[]) {
  const seqs = samples.map((s) => [...s.promptTokenIds, ...s.tokenIds]);
  const T = seqs.reduce((a, x) => a + x.length, 0);
  const tokens = new Int32Array(T), mask = new Float32Array(T), oldLogprobs = new Float32Array(T), cuSeqlens = new Int32Array(samples.length + 1);
  let at = 0;
  samples.forEach((s, b) => {
    tokens.set(seqs[b]!, at);
    const P = s.promptTokenIds.length;
    s.tokenIds.forEach((_, j) => {
      mask[at + P + j - 1] = s.lossMask[j]!;
      oldLogprobs[at + P + j - 1] = s.lossMask[j]! ? old[b]![j]! : 0;
    });
    at += seqs[b]!.length;
    cuSeqlens[b + 1] = at;
  });
  return { tokens, mask, oldLogprobs, cuSeqlens };
}

for (const mode of ['rollout', 'recompute'] as const) {
  t.test(`one step = the pieces by hand (old log-probs: ${mode})`, async (t) => {
    const cfg = fx.config(join(fx.dir, `step-${mode}`));
    const trainer = new GrpoTrainer({ ...cfg, actor: { ...cfg.actor, oldLogprobs: mode } }, { rewardFunction: lengthReward, log: () => {} });
    await trainer.setup();
    const twin = await Model.load(fx.modelDir);
    const before = new Map([...twin.parameters()].map(([k, v]) => [k, v.toArray() as Float32Array]));
    const opt = new AdamW(twin, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0.01, maxGradNorm: 1 });

    const rep = await trainer.runStep();
    const { samples } = rep;
    t.equal(samples.length, 8, '2 prompts × 4 samples');
    t.ok(samples.some((s) => s.toolCalls.length > 0), 'some sample called the tool (so the mask has zeros to check)');

    // Rewards, then advantages in float64.
    const rewards = await Promise.all(samples.map((s) => lengthReward(s.text, '5')));
    t.same(rep.rewards.map((r) => r.reward), rewards.map((r) => r.reward), 'rewards: the reward function of each response text');
    for (let g = 0; g < 2; g++) {
      const r = rewards.slice(4 * g, 4 * g + 4).map((x) => x.reward);
      const mean = r.reduce((a, x) => a + x, 0) / 4;
      const std = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / 3);
      r.forEach((x, j) => t.ok(Math.abs(rep.advantages[4 * g + j]! - (x - mean) / (std + 1e-6)) < 1e-5, `advantage ${4 * g + j}`));
    }
    t.ok(rep.advantages.some((a) => a !== 0), 'some advantage is not 0');

    // The loss mask: 0 exactly on the tokens of each tool output.
    for (const s of samples) {
      const want = new Uint8Array(s.tokenIds.length).fill(1);
      for (const c of s.toolCalls) want.fill(0, c.tokenStart, c.tokenEnd);
      t.same([...s.lossMask], [...want], `sample ${s.promptIndex}/${s.index}: mask 0 on its ${s.toolCalls.length} tool output(s)`);
    }

    // The reference update: one call over the whole batch, one AdamW step.
    const old = mode === 'rollout' ? samples.map((s) => s.logprobs) : null;
    const probe = handBatch(samples, samples.map((s) => s.logprobs));
    let oldLogprobs = probe.oldLogprobs;
    if (!old) {
      const { logprobs } = await twin.logprobs({ tokens: probe.tokens, cuSeqlens: probe.cuSeqlens });
      oldLogprobs = logprobs.map((v, i) => (probe.mask[i] ? v : 0));
    }
    const ref = await twin.forwardBackward({ tokens: probe.tokens, cuSeqlens: probe.cuSeqlens, mask: probe.mask }, { type: 'grpo', oldLogprobs, advantages: rep.advantages, clipRatio: 0.2, dualClip: false, aggregation: 'token-mean' });
    const info = await opt.step();
    t.ok(rep.metrics['actor/micro_batches']! > 1, `the trainer split the batch (${rep.metrics['actor/micro_batches']} micro-batches)`);
    t.ok(Math.abs(rep.metrics['actor/pg_loss']! - ref.stats.pgLoss) < 1e-6, `pg_loss ${rep.metrics['actor/pg_loss']} = ${ref.stats.pgLoss}`);
    t.ok(Math.abs(rep.metrics['actor/grad_norm']! - info.gradNorm) < 1e-5 * info.gradNorm, `grad_norm ${rep.metrics['actor/grad_norm']} = ${info.gradNorm}`);
    t.ok(Math.abs(rep.metrics['actor/entropy']! - ref.stats.entropyMean) < 1e-5, 'entropy');
    if (mode === 'recompute') t.ok(Math.abs(rep.metrics['actor/ppo_kl']!) < 1e-6 && rep.metrics['actor/pg_clipfrac'] === 0, 'recomputed: ratio 1, no clipping');
    else t.ok(Math.abs(rep.metrics['actor/ppo_kl']!) < 1e-4, `rollout log-probs ≈ the trainer's (ppo_kl ${rep.metrics['actor/ppo_kl']})`);

    let worst = 0, moved = 0;
    for (const [name, w] of trainer.model.parameters()) {
      const a = w.toArray() as Float32Array, b = twin.native.weight(name).toArray() as Float32Array, b0 = before.get(name)!;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        moved = Math.max(moved, Math.abs(b[i]! - b0[i]!));
      }
    }
    t.ok(moved > 1e-4, `the update moved the weights (by up to ${moved.toExponential(2)})`);
    // 1% of lr: Adam's step is lr·m/(√v + eps), so where a gradient cancels to about eps, the float
    // noise of another summation order (micro-batches vs one batch; ratios from other log-prob bits)
    // grows to lr·|Δg|/eps. A wrong mask, advantage or micro-batch weight moves most weights by O(lr);
    // a global scale error is caught by pg_loss and grad_norm above.
    t.ok(worst < 1e-5, `every parameter equals the reference update (max |Δ| ${worst.toExponential(2)}, lr 1e-3)`);
    await trainer.close();
  });
}

t.test('KL against the initial model, several updates per step, Dr.GRPO: each takes effect', async (t) => {
  const cfg = fx.config(join(fx.dir, 'kl'));
  const trainer = new GrpoTrainer({ ...cfg, algorithm: { normAdvByStd: false }, actor: { ...cfg.actor, klCoef: 0.1, ppoEpochs: 2, ppoMiniBatchSize: 1 } }, { rewardFunction: lengthReward, log: () => {} });
  await trainer.setup();
  const first = await trainer.runStep();
  const r = first.rewards.map((x) => x.reward);
  const mean0 = (r[0]! + r[1]! + r[2]! + r[3]!) / 4;
  t.ok(Math.abs(first.advantages[0]! - (r[0]! - mean0)) < 1e-6, 'Dr.GRPO: reward − group mean, not divided by the std');
  t.equal(first.metrics['actor/micro_batches']! >= 4, true, '2 epochs × 2 mini-batches: 4 updates or more micro-batches');
  t.ok(first.metrics['actor/kl_loss']! > 0, `the KL term is reported: > 0 once the step's first updates moved the policy (${first.metrics['actor/kl_loss']})`);
  t.ok(first.metrics['actor/ppo_kl'] !== 0, 'later updates see a moved policy: ratio ≠ 1 (ppo_kl ≠ 0)');
  const second = await trainer.runStep();
  t.ok(second.metrics['actor/kl_loss']! > 0, `after an update the policy has left the reference (KL ${second.metrics['actor/kl_loss']})`);
  await trainer.close();
});
