// The demo base model in its full recipe (DEMO_RECIPE, seed 0; built here in a temporary cache,
// ~1.5 minutes on 2 cores), measured, not assumed, by the real rollout (Engine + PythonSandbox,
// ToRL's reward) on the held-out test split loaded through loadDataset: it rarely calls the
// interpreter and is rarely right, but the samples that call it mostly are; a second call reuses it.
import t from 'tap';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectedParameters, loadConfig, loadDataset, loadTokenizer } from '../../lib/index.js';
import { DEMO_RECIPE, DEMO_TEMPLATE, ensureDemoBaseModel, measureDemoModel, recipeKey, writeDemoTask } from '../../lib/demo/index.js';

const cacheDir = await mkdtemp(join(tmpdir(), 'torl-demo-cache-'));
t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
const phases = new Set<string>();
const built = await ensureDemoBaseModel({ cacheDir, onProgress: (p) => phases.add(p.phase) });

t.test('built once, in a folder keyed by the recipe, as an HF directory; then reused', async (t) => {
  t.equal(built.cached, false);
  t.equal(built.dir, join(cacheDir, recipeKey(DEMO_RECIPE, 0)));
  t.same([...phases], ['corpus', 'tokenizer', 'pretrain', 'save']);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'recipe.json']) await t.resolves(access(join(built.dir, f)), f);
  t.same(await readdir(cacheDir), [recipeKey(DEMO_RECIPE, 0)], 'no temporary folder left behind');
  const config = await loadConfig(built.dir);
  const tok = await loadTokenizer(built.dir);
  t.equal(config.vocabSize, tok.vocabSize, 'the model samples only ids the tokenizer has');
  const params = expectedParameters(config).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  t.ok(params >= 0.5e6 && params <= 5e6, `${(params / 1e6).toFixed(2)} M parameters`);
  const again = await ensureDemoBaseModel({ cacheDir });
  t.equal(again.cached, true, 'the second call reuses the cache');
  t.equal(again.dir, built.dir);
  t.ok(again.seconds < 1, `and takes ${again.seconds.toFixed(3)} s`);
});

t.test('measured by the rollout on the test split: tool-call rate and accuracy ≤ 30%, tool calls mostly right', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'torl-demo-data-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const files = await writeDemoTask(dataDir, { seed: 0, train: 100, test: 200 });
  const test = await loadDataset(files.test, { template: DEMO_TEMPLATE, tokenizer: await loadTokenizer(built.dir) });
  const m = await measureDemoModel(built.dir, test.examples, { samples: 4, seed: 1 });
  t.comment(JSON.stringify(m));
  t.equal(m.samples, 800);
  t.ok(m.toolCallRate >= 0.05 && m.toolCallRate <= 0.3, `tool-call rate ${m.toolCallRate.toFixed(3)}`);
  t.ok(m.accuracy <= 0.3, `accuracy ${m.accuracy.toFixed(3)}`);
  t.ok(m.accuracyWithTool !== null && m.accuracyWithTool >= 0.5 && m.accuracyWithTool > 2 * (m.accuracyWithoutTool ?? 0), `accuracy of samples that call the tool ${m.accuracyWithTool?.toFixed(3)}`);
  t.ok(m.accuracyWithoutTool !== null && m.accuracyWithoutTool < 0.3, `accuracy of text-only samples ${m.accuracyWithoutTool?.toFixed(3)}`);
});
