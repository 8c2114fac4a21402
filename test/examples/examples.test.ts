// Every example runs: examples/sandbox.ts, examples/generate.ts (its samples = Engine.generate's),
// and the ToRL-1.5B recipe — its config holds ToRL's values, each line with its source; on the CPU
// run.ts makes 1 step of the tiny SFT tool model with a config of the same shape, then evaluates it
// on the five benchmarks; on a GPU with a local Qwen2.5-Math-1.5B it runs the real config briefly.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse, stringify } from 'yaml';

import { backends, createRandomCheckpoint, Engine, loadTokenizer, loadTrainerConfig, Model, qwen2Config } from '../../lib/index.js';
import { trainerFixture } from '../helpers/trainer-fixture.js';
import { qwenTokenizerDir } from '../tokenizer/fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsx = (script: string, args: string[], timeout = 600_000) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'examples', script), ...args], { cwd: root, encoding: 'utf8', timeout });
const tmp = mkdtempSync(join(tmpdir(), 'torl-examples-'));

t.test('examples/sandbox.ts', async (t) => {
  const r = tsx('sandbox.ts', []);
  t.equal(r.status, 0, r.stderr.slice(-500));
  t.match(r.stdout, /^ok\s+\d+ ms  observation: "\[-2, 2\]"$/m, 'sympy solves x² = 4');
  t.match(r.stdout, /^error\s+\d+ ms  observation: "ZeroDivisionError: division by zero"$/m, 'the last traceback line');
  t.match(r.stdout, /^timeout\s+\d+ ms/m, 'the endless loop is stopped');
});

t.test('examples/generate.ts: the samples are Engine.generate’s', async (t) => {
  const tok = await loadTokenizer(qwenTokenizerDir());
  const dir = join(tmp, 'random');
  await createRandomCheckpoint(dir, qwen2Config({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 16, vocabSize: tok.vocabSize, bosTokenId: 0, eosTokenId: tok.eosTokenId!, maxPositionEmbeddings: 256 }), { seed: 2, tokenizer: qwenTokenizerDir() });
  const r = tsx('generate.ts', [dir, 'Compute 2+3.']);
  t.equal(r.status, 0, r.stderr.slice(-500));
  const engine = new Engine(await Model.load(dir), { tokenizer: tok, kvCacheTokens: 8192 });
  const [want] = await engine.generate(['Compute 2+3.'], { n: 4, temperature: 0.7, topP: 0.95, maxTokens: 32, seed: 1 });
  for (const o of want!.outputs) t.ok(r.stdout.includes(`sample ${o.index} (${o.finishReason}, ${o.tokenIds.length} tokens): ${JSON.stringify(o.text)}`), `sample ${o.index}`);
  const [greedy] = await engine.generate(['Compute 2+3.'], { temperature: 0, maxTokens: 32 });
  t.ok(r.stdout.includes(`greedy: ${JSON.stringify(greedy!.outputs[0]!.text)}`), 'the streamed greedy text');
  engine.dispose();
});

const recipe = join(root, 'examples', 'torl-1.5b', 'config.yaml');

/** Every key path of a parsed config, to compare shapes. */
const paths = (x: unknown, at = ''): string[] =>
  x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.entries(x).flatMap(([k, v]) => paths(v, at ? `${at}.${k}` : k)) : [at];

t.test("the recipe's config: ToRL's values, each with its source", async (t) => {
  const c = await loadTrainerConfig(recipe);
  t.same([c.data.trainBatchSize, c.rollout.n, c.data.maxPromptTokens, c.rollout.maxResponseTokens, c.rollout.maxToolCalls], [128, 16, 400, 3072, 1], '128 prompts × 16, 400 + 3072 tokens, C = 1');
  t.same([c.rollout.temperature, c.rollout.topP, c.rollout.topK, c.rollout.val.temperature, c.rollout.val.n], [1, 1, -1, 0, 1], 'sampling; greedy validation');
  t.same([c.actor.lr, c.actor.weightDecay, c.actor.maxGradNorm, c.actor.clipRatio, c.actor.klCoef, c.actor.entropyCoef, c.actor.ppoEpochs, c.actor.microBatchTokens], [1e-6, 0.01, 1, 0.2, 0, 0, 1, 16384]);
  t.same([c.trainer.totalEpochs, c.trainer.saveFreq, c.trainer.testFreq, c.trainer.valBeforeTrain, c.data.template, c.reward.function], [300, 20, 4, true, 'tir_base_0309', 'torl']);
  t.same(c.data.train, '../shared/data/limr/limr1389.jsonl', 'the LIMR stand-in for the missing train.parquet');
  const values = readFileSync(recipe, 'utf8').split('\n').filter((l) => /^\s+\w+:\s*\S/.test(l) && !/^\s*#/.test(l));
  t.ok(values.length >= 40, `${values.length} values`);
  for (const l of values) if (!/ # \S/.test(l)) t.fail(`no source comment: ${l.trim()}`);
});

t.test('the recipe on the CPU: 1 step of the tiny tool model with the same config shape, then the eval', async (t) => {
  const fx = await trainerFixture();
  const real = parse(readFileSync(recipe, 'utf8')) as Record<string, Record<string, unknown>>;
  const tiny = structuredClone(real);
  Object.assign(tiny.model!, { path: fx.modelDir, device: 'cpu', dtype: 'f32' });
  Object.assign(tiny.data!, { train: fx.dataFile, val: [fx.dataFile], template: 'raw', maxPromptTokens: 400, trainBatchSize: 2 });
  Object.assign(tiny.rollout!, { n: 4, maxResponseTokens: 48, maxNumSeqs: 64, maxBatchTokens: 2048, memoryFraction: 0.5 });
  Object.assign(tiny.actor!, { lr: 1e-3, microBatchTokens: 96 });
  Object.assign(tiny.trainer!, { outDir: join(tmp, 'unused'), samplesPerStep: 4, valBeforeTrain: false });
  t.same(paths(tiny).sort(), paths(real).sort(), 'the same keys as the recipe');
  const file = join(tmp, 'tiny.yaml');
  writeFileSync(file, stringify(tiny));
  const out = join(tmp, 'recipe');
  const r = tsx(join('torl-1.5b', 'run.ts'), ['--model', fx.modelDir, '--config', file, '--train', fx.dataFile, '--out', out, '--steps', '1', '--eval-limit', '1']);
  t.equal(r.status, 0, `exit 0 (stderr: ${r.stderr.slice(-800)})`);
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  t.same(metrics.map((m) => m.step), [1], 'one training step');
  t.ok(Number.isFinite(metrics[0]!['actor/pg_loss']), 'with a loss');
  t.ok(existsSync(join(out, 'model', 'config.json')) && existsSync(join(out, 'model', 'tokenizer.json')), 'the trained model directory');
  const results = JSON.parse(readFileSync(join(out, 'eval', 'results.json'), 'utf8')) as { benchmarks: Record<string, { problems: number }>; protocol: { model: string; maxToolCalls: number; temperature: number } };
  t.same(Object.keys(results.benchmarks), ['aime24', 'aime25', 'math500', 'olympiadbench', 'amc23'], 'evaluated on the five benchmarks');
  t.ok(Object.values(results.benchmarks).every((b) => b.problems === 1), '--eval-limit 1');
  t.same([results.protocol.model, results.protocol.maxToolCalls, results.protocol.temperature], [join(out, 'model'), 1, 0], 'the trained model, C = 1, greedy');
  t.match(r.stdout, /^ToRL-1\.5B \(paper\)\s+26\.7/m, 'the table');
});

const qwen = process.env.TORL_QWEN25_MATH_1_5B;
const gpu = backends().cuda.available;
t.test('the recipe on a GPU from a local Qwen2.5-Math-1.5B (2 steps, 10 problems per benchmark)', { skip: !gpu ? 'no GPU' : !qwen ? 'set TORL_QWEN25_MATH_1_5B to a local Qwen2.5-Math-1.5B directory' : false }, async (t) => {
  const out = join(tmp, 'recipe-gpu');
  const r = tsx(join('torl-1.5b', 'run.ts'), ['--model', qwen!, '--out', out, '--steps', '2', '--eval-limit', '10'], 3_600_000);
  t.equal(r.status, 0, r.stderr.slice(-800));
  t.equal(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').length, 2 + 1, 'validation before training and 2 steps');
});
