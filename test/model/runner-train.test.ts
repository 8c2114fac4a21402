// Training with the runner: SFT overfits a handful of sequences deterministically;
// AdamW matches torch.optim.AdamW's formula on one step; LR schedules; save → load
// round trips (f32 exactly, bf16 rounded); a bf16 model tracks the f32 one.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { AdamW, Model, qwen2Config, readSafetensors, scheduledLr } from '../../lib/model/index.js';
import { rng } from '../helpers/reference.js';

const config = qwen2Config({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 8, vocabSize: 48, bosTokenId: 0, eosTokenId: 1, maxPositionEmbeddings: 64 });

function sequences(seed: number) {
  const rand = rng(seed);
  const lengths = [7, 12, 5, 9];
  const cuSeqlens = Int32Array.from([0, 7, 19, 24, 33]);
  const tokens = Int32Array.from({ length: 33 }, () => Math.floor(rand() * config.vocabSize));
  return { tokens, cuSeqlens, lengths };
}

async function overfit(steps: number, dtype: 'f32' | 'bf16' = 'f32'): Promise<number[]> {
  const model = Model.random(config, { seed: 42, dtype });
  const opt = new AdamW(model, { lr: 1e-2, weightDecay: 0, maxGradNorm: 1, schedule: { type: 'linear-warmup', warmupSteps: 5 } });
  const batch = sequences(1);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = await model.forwardBackward(batch, { type: 'crossEntropy' }, { microBatchTokens: 16 });
    losses.push(r.loss);
    await opt.step();
    opt.zeroGrad();
  }
  return losses;
}

t.test('SFT: a tiny model overfits four sequences, deterministically', async (tt) => {
  const a = await overfit(80);
  tt.ok(a[0]! > 3.5, `initial loss ${a[0]} ≈ ln 48`);
  tt.ok(a[a.length - 1]! < 0.05, `final loss ${a[a.length - 1]} < 0.05 after 80 steps`);
  const b = await overfit(80);
  tt.same(b, a, 'the same seed gives the same losses, bit for bit');
  const bf = await overfit(40, 'bf16'); // bf16 weights, fp32 master weights in AdamW
  tt.ok(bf[bf.length - 1]! < 0.5, `bf16: loss ${bf[0]} → ${bf[bf.length - 1]} in 40 steps`);
});

t.test('AdamW: one step is torch.optim.AdamW; norms and biases are not decayed; clipping', async (tt) => {
  const model = Model.random(config, { seed: 3 });
  const before = new Map([...model.parameters()].map(([n, w]) => [n, w.toArray() as Float32Array]));
  await model.forwardBackward(sequences(2), { type: 'crossEntropy' });
  const grads = new Map([...model.gradients()].map(([n, g]) => [n, g.toArray() as Float32Array]));
  const norm = Math.sqrt([...grads.values()].reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0));
  const maxGradNorm = norm / 2, lr = 1e-3, wd = 0.1, eps = 1e-8;
  const opt = new AdamW(model, { lr, weightDecay: wd, eps, maxGradNorm });
  const info = await opt.step();
  tt.ok(Math.abs(info.gradNorm - norm) <= 1e-5 * norm, `grad norm ${info.gradNorm} vs ${norm}`);
  const scale = maxGradNorm / (norm + 1e-6);
  for (const name of ['layers.0.attn.q.weight', 'layers.0.attn.q.bias', 'final_norm.weight']) {
    const p0 = before.get(name)!, g = grads.get(name)!;
    const p1 = model.parameters().get(name)!.toArray() as Float32Array;
    const decay = name.endsWith('.bias') || name.endsWith('norm.weight') ? 0 : wd;
    let err = 0;
    for (let i = 0; i < p0.length; i++) {
      // step 1: m̂ = g, v̂ = g²  →  p ← p(1 − lr·wd) − lr · g / (|g| + eps)
      const gi = g[i]! * scale;
      const want = p0[i]! * (1 - lr * decay) - (lr * gi) / (Math.abs(gi) + eps);
      err = Math.max(err, Math.abs(p1[i]! - want));
    }
    tt.ok(err <= 1e-6, `${name}: max err ${err}`);
  }
});

t.test('LR schedules', async (tt) => {
  tt.equal(scheduledLr(1, { type: 'constant' }, 7), 1);
  tt.equal(scheduledLr(2, { type: 'linear-warmup', warmupSteps: 4 }, 1), 0.5);
  tt.equal(scheduledLr(2, { type: 'linear-warmup', warmupSteps: 4 }, 9), 2);
  const cos = { type: 'cosine' as const, warmupSteps: 2, totalSteps: 12, minLr: 0.1 };
  tt.equal(scheduledLr(1, cos, 2), 1);
  tt.ok(Math.abs(scheduledLr(1, cos, 7) - 0.55) < 1e-12, 'half way: (1 + 0.1) / 2');
  tt.ok(Math.abs(scheduledLr(1, cos, 12) - 0.1) < 1e-12, 'ends at minLr');
  tt.throws(() => new AdamW(Model.random(config, { seed: 1 }), { lr: 1, schedule: { type: 'cosine', totalSteps: 0 } }), /totalSteps must be an integer above warmupSteps/);
});

t.test('save → load: HF names, f32 exact, bf16 rounded; the bf16 model tracks the f32 one', async (tt) => {
  const dir = await mkdtemp(join(tmpdir(), 'torl-runner-'));
  tt.teardown(() => rm(dir, { recursive: true, force: true }));
  const model = Model.random(config, { seed: 5, std: 0.2 });
  const batch = sequences(3);
  const want = await model.logprobs(batch);
  await model.save(join(dir, 'f32'));
  const cfg = JSON.parse(await readFile(join(dir, 'f32', 'config.json'), 'utf8'));
  tt.equal(cfg.torch_dtype, 'float32');
  const ckpt = await readSafetensors(join(dir, 'f32'));
  tt.ok(ckpt.entries.has('model.layers.1.self_attn.q_proj.bias') && !ckpt.entries.has('lm_head.weight'), 'HF names, tied head omitted');
  const back = await Model.load(join(dir, 'f32'));
  tt.same((await back.logprobs(batch)).logprobs, want.logprobs, 'f32 round trip is exact');

  await model.save(join(dir, 'bf16'), { dtype: 'bf16' });
  tt.equal((await readSafetensors(join(dir, 'bf16'))).entries.get('model.embed_tokens.weight')?.dtype, 'bf16');
  const bf = await Model.load(join(dir, 'bf16'), { dtype: 'bf16' });
  tt.equal(bf.dtype, 'bf16');
  const got = await bf.logprobs(batch);
  const err = got.logprobs.reduce((m, x, i) => Math.max(m, Math.abs(x - want.logprobs[i]!)), 0);
  const scale = want.logprobs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  // bf16 keeps 8 significant bits (0.4 % per rounding), rounded again at every layer boundary.
  tt.ok(err <= 0.03 * scale, `bf16 weights and activations: log-probs within ${err.toFixed(4)} (≤ 3 % of ${scale.toFixed(2)}) of f32`);
  tt.ok(err > 0, 'and not identical (the rounding happened)');
});
