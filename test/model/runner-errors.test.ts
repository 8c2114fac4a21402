// Bad input to the runner gets an error naming the problem.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createRandomCheckpoint, Model, qwen2Config, randomWeights, hfToOurs } from '../../lib/model/index.js';

const config = qwen2Config({ hiddenSize: 16, intermediateSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 8, vocabSize: 20, bosTokenId: 0, eosTokenId: 1, maxPositionEmbeddings: 8 });
const model = Model.random(config, { seed: 1 });
const tokens = Int32Array.from([1, 2, 3, 4, 5]);
const cuSeqlens = Int32Array.from([0, 2, 5]);

t.test('batches', async (tt) => {
  const bad: [string, object, RegExp][] = [
    ['cuSeqlens not ending at T', { tokens, cuSeqlens: Int32Array.from([0, 2, 4]) }, /cuSeqlens must start at 0 and end at T = 5/],
    ['cuSeqlens decreasing', { tokens, cuSeqlens: Int32Array.from([0, 3, 2, 5]) }, /cuSeqlens must not decrease: cuSeqlens\[1\] = 3 > cuSeqlens\[2\] = 2/],
    ['positions of the wrong length', { tokens, cuSeqlens, positions: new Int32Array(4) }, /batch.positions has 4 entries but tokens has 5/],
    ['mask of the wrong length', { tokens, cuSeqlens, mask: new Float32Array(6) }, /batch.mask has 6 entries but tokens has 5/],
    ['id ≥ vocab_size', { tokens: Int32Array.from([1, 2, 20, 4, 5]), cuSeqlens }, /batch.tokens\[2\] = 20 is outside \[0, vocab_size = 20\)/],
    ['target ≥ vocab_size', { tokens, cuSeqlens, targets: Int32Array.from([1, 2, 3, 99, -1]) }, /batch.targets\[3\] = 99 is not below vocab_size = 20/],
    ['position past max_position_embeddings', { tokens, cuSeqlens, positions: Int32Array.from([0, 1, 0, 1, 8]) }, /batch.positions\[4\] = 8 is outside \[0, max_position_embeddings = 8\)/],
    ['tokens not an Int32Array', { tokens: [1, 2], cuSeqlens: Int32Array.from([0, 2]) }, /batch.tokens must be an Int32Array/],
  ];
  for (const [what, batch, re] of bad) {
    await tt.rejects(model.logprobs(batch as never), re, `logprobs: ${what}`);
    await tt.rejects(model.forwardBackward(batch as never, { type: 'crossEntropy' }), re, `forwardBackward: ${what}`);
  }
  await tt.rejects(model.forwardBackward({ tokens, cuSeqlens }, { type: 'grpo', oldLogprobs: new Float32Array(5), advantages: new Float32Array(3) }), /loss.advantages \(or one per sequence\) must be a Float32Array of 5 entries/);
  await tt.rejects(model.forwardBackward({ tokens, cuSeqlens }, { type: 'grpo', oldLogprobs: new Float32Array(5), advantages: new Float32Array(2), clipRatio: -1 }), /grpoLoss: clipLow must be in \(0, 1\), got -1/);
  await tt.rejects(model.forwardBackward({ tokens, cuSeqlens }, { type: 'mse' } as never), /loss.type must be 'crossEntropy' or 'grpo'/);
  await tt.rejects(model.logprobs({ tokens, cuSeqlens }, { temperature: 0 }), /temperature must be > 0/);
});

t.test('weights', async (tt) => {
  const hf = randomWeights(config, { seed: 2, dtype: 'f32' });
  const ours = new Map([...hf].map(([n, w]) => [hfToOurs(n), w]));
  const missing = new Map(ours);
  missing.delete('layers.0.mlp.up.weight');
  tt.throws(() => Model.fromWeights(config, missing), /weight "layers.0.mlp.up.weight" \(shape \[32, 16\]\) is missing/);
  const wrong = new Map(ours);
  wrong.set('layers.0.attn.k.weight', { dtype: 'f32', shape: [16, 16], data: new Uint8Array(16 * 16 * 4) });
  tt.throws(() => Model.fromWeights(config, wrong), /"layers.0.attn.k.weight" must have shape \[8, 16\], got \[16, 16\]/);
  const extra = new Map(ours);
  extra.set('lm_head.weight', { dtype: 'f32', shape: [20, 16], data: new Uint8Array(20 * 16 * 4) });
  tt.throws(() => Model.fromWeights(config, extra), /unknown parameter "lm_head.weight" \(the embeddings are tied/);

  const dir = await mkdtemp(join(tmpdir(), 'torl-runner-err-'));
  tt.teardown(() => rm(dir, { recursive: true, force: true }));
  await createRandomCheckpoint(dir, config, { seed: 1 });
  await tt.rejects(Model.load(dir, { dtype: 'f16' as never }), /dtype must be f32 or bf16, got f16/);
  const other = { ...config, intermediateSize: 24 };
  await createRandomCheckpoint(join(dir, 'b'), config, { seed: 1 });
  const { writeConfig } = await import('../../lib/model/index.js');
  await writeConfig(join(dir, 'b'), other);
  await tt.rejects(Model.load(join(dir, 'b')), /tensor "model.layers.0.mlp.gate_proj.weight" has shape \[32,16\], the config implies \[24,16\]/);
});
