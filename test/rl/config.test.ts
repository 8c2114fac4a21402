// The trainer config: its defaults are ToRL's script (TORL-PROTOCOL.md's table), every bad
// field is named, files load as JSON or YAML and a bad file says what is wrong.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

import { loadTrainerConfig, resolveTrainerConfig } from '../../lib/index.js';

const minimal = { model: { path: 'm' }, data: { train: 'd.parquet' } };

t.test("defaults: ToRL's script over veRL's ppo_trainer.yaml", (t) => {
  const c = resolveTrainerConfig(minimal);
  t.match(c.data, { template: 'tir_base_0309', maxPromptTokens: 400, trainBatchSize: 128, shuffle: true });
  t.match(c.rollout, { n: 16, temperature: 1, topP: 1, topK: -1, maxResponseTokens: 3072, maxToolCalls: 1, feedErrors: true, val: { temperature: 0, n: 1 } });
  t.match(c.reward, { function: 'torl', codePenalty: 0 });
  t.match(c.algorithm, { normAdvByStd: true, eps: 1e-6 });
  t.same(c.actor.betas, [0.9, 0.999]);
  t.match(c.actor, { lr: 1e-6, weightDecay: 0.01, maxGradNorm: 1, clipRatio: 0.2, dualClip: false, klCoef: 0, entropyCoef: 0, aggregation: 'token-mean', ppoEpochs: 1, microBatchTokens: 16384, oldLogprobs: 'auto' });
  t.same(c.actor.schedule, { type: 'constant' });
  t.equal(c.actor.ppoMiniBatchSize, undefined, 'one update per step');
  t.match(c.trainer, { totalEpochs: 300, saveFreq: 20, testFreq: 4, valBeforeTrain: true });
  t.end();
});

t.test('every bad field is named by its path', (t) => {
  const bad = (input: unknown, pattern: RegExp, what: string) => t.throws(() => resolveTrainerConfig(input), pattern, what);
  bad({ data: { train: 'x' } }, /model: /, 'model is required');
  bad({ model: { path: 'm' } }, /data: /, 'data is required');
  bad({ ...minimal, data: { train: 'x', trainBatchSize: 0 } }, /data\.trainBatchSize: Too small/, 'a batch of 0');
  bad({ ...minimal, rollout: { n: 2.5 } }, /rollout\.n: .*int/i, 'a fractional n');
  bad({ ...minimal, rollout: { topP: 0 } }, /rollout\.topP: /, 'top-p 0');
  bad({ ...minimal, actor: { lr: -1 } }, /actor\.lr: Too small/, 'a negative lr');
  bad({ ...minimal, actor: { klType: 'low_var' } }, /actor\.klType: .*k1.*k2.*k3/, 'an unknown KL estimator, with the known ones');
  bad({ ...minimal, actor: { dualClip: 0.5 } }, /actor\.dualClip/, 'a dual clip ≤ 1');
  bad({ ...minimal, actor: { schedule: { type: 'cosine' } } }, /actor\.schedule\.totalSteps/, 'cosine without totalSteps');
  bad({ ...minimal, reward: { function: 'f1' } }, /reward\.function: .*torl.*v2\.wformat/, 'an unknown reward');
  bad({ ...minimal, actor: { learningRate: 1 } }, /actor: Unrecognized key: "learningRate"/, 'a misspelt field');
  bad({ ...minimal, trainer: { saveFreq: 0 }, sandbox: { workers: 0 } }, /sandbox\.workers[\s\S]*trainer\.saveFreq/, 'all problems at once');
  t.end();
});

t.test('files: JSON and YAML load alike; unreadable or malformed ones are named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'torl-config-'));
  writeFileSync(join(dir, 'a.json'), JSON.stringify({ ...minimal, rollout: { n: 4 } }));
  writeFileSync(join(dir, 'a.yaml'), 'model: { path: m }\ndata:\n  train: d.parquet\nrollout:\n  n: 4\n');
  t.same(await loadTrainerConfig(join(dir, 'a.yaml')), await loadTrainerConfig(join(dir, 'a.json')), 'the same config');
  writeFileSync(join(dir, 'b.json'), '{ "model": ');
  await t.rejects(loadTrainerConfig(join(dir, 'b.json')), /b\.json: not valid JSON/);
  writeFileSync(join(dir, 'c.yaml'), 'model: [\n');
  await t.rejects(loadTrainerConfig(join(dir, 'c.yaml')), /c\.yaml: not valid YAML/);
  writeFileSync(join(dir, 'd.yaml'), 'model: { path: m }\ndata: { train: x, trainBatchSize: -3 }\n');
  await t.rejects(loadTrainerConfig(join(dir, 'd.yaml')), /d\.yaml: invalid trainer config\n {2}data\.trainBatchSize/);
  await t.rejects(loadTrainerConfig(join(dir, 'missing.json')), /missing\.json: cannot read the config file \(ENOENT\)/);
});
