// `torl eval` on a random Qwen2-architecture model with the real Qwen tokenizer: the paper's five
// benchmarks (a few problems each), the table like the paper's, the JSON and the dump; a rerun
// resumes; bad input exits 1 naming it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { createRandomCheckpoint, loadTokenizer, qwen2Config, reward, type EvalRecord } from '../../lib/index.js';
import { qwenTokenizerDir } from '../tokenizer/fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib/cli/main.ts'), 'eval', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });

const tok = await loadTokenizer(qwenTokenizerDir());
const dir = mkdtempSync(join(tmpdir(), 'torl-eval-cli-'));
const modelDir = join(dir, 'random-qwen2');
await createRandomCheckpoint(modelDir, qwen2Config({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 16, vocabSize: tok.vocabSize, bosTokenId: 0, eosTokenId: tok.eosTokenId!, maxPositionEmbeddings: 2048 }), { seed: 5, tokenizer: qwenTokenizerDir() });
const small = ['--limit', '2', '--max-tokens', '24', '--workers', '1', '--kv-cache-tokens', '16384'];
t.teardown(() => reward.shutdownGrader());

t.test('torl eval: the five benchmarks, the JSON, the dump; a rerun resumes and prints the table', async (t) => {
  const out = join(dir, 'out');
  const r = cli('--model', modelDir, ...small, '--out', out, '--json');
  t.equal(r.status, 0, `exit 0 (stderr: ${r.stderr.slice(-600)})`);
  const res = JSON.parse(r.stdout) as { benchmarks: Record<string, { problems: number; samples: number; responseLength: number; accuracy: number }>; average: { accuracy: number }; protocol: Record<string, unknown> };
  t.same(Object.keys(res.benchmarks), ['aime24', 'aime25', 'math500', 'olympiadbench', 'amc23'], "the paper's five, in its order");
  for (const b of Object.values(res.benchmarks)) t.same([b.problems, b.samples], [2, 2]);
  t.same(res.protocol, { ...res.protocol, template: 'tir_base_0309', maxToolCalls: 1, temperature: 0, maxResponseTokens: 24 }, "the paper's protocol by default");
  t.match(r.stderr, /10 problems generated \(0 resumed\) in [\d.]+ s: \d+ tokens, [\d.]+ tok\/s/);
  const dump = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EvalRecord);
  t.equal(dump.length, 10);
  t.ok(dump.every((d) => d.prompt.startsWith('A conversation between User and Assistant.') && d.prompt.endsWith('\nAssistant:')), 'tir_base_0309 prompts');
  for (const d of dump) t.equal(d.correct, (await reward.torlReward(d.response, d.gold)).reason.startsWith('match:'), `${d.key}: verdict = torlReward's`);
  t.same(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).benchmarks, res.benchmarks, 'results.json');

  const again = cli('--model', modelDir, ...small, '--out', out);
  t.equal(again.status, 0);
  t.match(again.stderr, /resuming from .*samples\.jsonl: 10 of 10 problems already graded/);
  t.match(again.stdout, /^\s+AIME24\s+AIME25\s+MATH500\s+OlympiadBench\s+AMC23\s+Avg$/m, 'the table heads');
  t.match(again.stdout, /^ToRL-1\.5B \(paper\)\s+26\.7\s+26\.7\s+77\.8\s+44\.0\s+67\.5\s+48\.5$/m, "the paper's row");
  t.match(again.stdout, /^random-qwen2 \(torl\)(\s+\d+\.\d){6}$/m, 'this run');
  t.match(again.stdout, /^olympiadbench\s+2\s+2\s/m, 'the details');
});

const torlVal = join(root, '..', 'shared', 'data', 'torl', 'test.jsonl');
const hasTorlVal = (() => {
  try {
    readFileSync(torlVal);
    return true;
  } catch {
    return false;
  }
})();

t.test('torl eval --no-tools --data FILE', { skip: hasTorlVal ? false : `no ${torlVal} next to the checkout` }, async (t) => {
  const r = cli('--model', modelDir, ...small, '--no-tools', '--data', torlVal, '--out', join(dir, 'no-tools'), '--json');
  t.equal(r.status, 0, r.stderr.slice(-600));
  const res = JSON.parse(r.stdout) as { benchmarks: Record<string, { toolCallRate: number }>; protocol: { template: string; maxToolCalls: number } };
  t.same(Object.keys(res.benchmarks), ['aime24'], "the first two rows of ToRL's validation file are aime24");
  t.same([res.protocol.template, res.protocol.maxToolCalls], ['no_tool', 0]);
});

t.test('bad input: exit 1 naming it', (t) => {
  const missing = cli('--model', '/nonexistent/model');
  t.equal(missing.status, 1);
  t.match(missing.stderr, /--model \/nonexistent\/model: no such directory/);
  const unknown = cli('--model', modelDir, '--benchmarks', 'aime24,aime26', '--out', join(dir, 'x'));
  t.equal(unknown.status, 1);
  t.match(unknown.stderr, /torl: unknown benchmark 'aime26' \(known: aime24, aime25, math500, olympiadbench, amc23, math500_level5/);
  const greedy = cli('--model', modelDir, '--samples', '4', '--out', join(dir, 'x'));
  t.match(greedy.stderr, /4 samples per problem need temperature > 0/);
  const limit = cli('--model', modelDir, '--limit', '0');
  t.match(limit.stderr, /--limit must be a positive integer, got '0'/);
  t.end();
});
