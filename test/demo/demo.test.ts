// `torl demo` end to end on a small base-model recipe: a 3-step run writes every output file
// (both trainer folders, the comparison figures, summary.json consistent with the metrics, the
// replayable configs), a second run finds the base model cached, and a demo killed after a
// checkpoint continues with --resume, each step once.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { runDemo, type DemoSummary } from '../../lib/demo/index.js';
import { SMALL_RECIPE } from '../helpers/demo-recipe.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'torl-demo-test-'));
const cacheDir = join(dir, 'cache');
const rows = (f: string) => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);

t.test('a 3-step demo writes every output file; a second run reuses the base model', async (t) => {
  const out = join(dir, 'demo');
  const lines: string[] = [];
  const s = await runDemo({ out, steps: 3, cacheDir, recipe: SMALL_RECIPE, progress: false, log: (l) => lines.push(l) });
  t.equal(s.baseModel.cached, false, 'the first run builds the base model');
  for (const run of ['torl', 'no-tool']) {
    for (const f of ['config.json', 'metrics.jsonl', 'model/model.safetensors', 'model/tokenizer.json', 'checkpoints/step-3/trainer_state.json', 'samples/step-3.jsonl', 'samples/val-step-3.jsonl']) t.ok(existsSync(join(out, run, f)), `${run}/${f}`);
    for (const f of ['reward', 'accuracy', 'tool_call_rate', 'tool_error_rate', 'response_length']) t.ok(existsSync(join(out, run, 'plots', `${f}.svg`)), `${run}/plots/${f}.svg`);
  }
  for (const f of ['accuracy', 'val_accuracy', 'tool_call_rate', 'response_length']) {
    t.match(readFileSync(join(out, 'plots', `${f}.svg`), 'utf8'), /ToRL[\s\S]*no tool/, `plots/${f}.svg compares both runs`);
    t.same([...readFileSync(join(out, 'plots', `${f}.png`)).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `plots/${f}.png is a PNG`);
  }
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as DemoSummary;
  t.same(summary.torl, s.torl, 'summary.json = the returned summary');
  const m = rows(join(out, 'torl', 'metrics.jsonl'));
  t.same(m.map((r) => r.step), [0, 1, 2, 3], 'validation, then 3 steps');
  t.equal(summary.torl.initial.toolCallRate, m[1]!['tool/call_rate'], 'initial = step 1');
  const last = m.slice(1);
  t.ok(Math.abs(summary.torl.final.accuracy - last.reduce((a, r) => a + r['accuracy/mean']!, 0) / 3) < 1e-12, 'final = the mean of the last (up to 5) steps');
  t.equal(summary.torl.val.initial, m[0]!['val/accuracy'], 'val.initial = the validation before training');
  const cfg = JSON.parse(readFileSync(join(out, 'no-tool', 'config.json'), 'utf8')) as { rollout: { maxToolCalls: number }; model: { path: string } };
  t.equal(cfg.rollout.maxToolCalls, 0, 'the baseline runs with tools off');
  t.equal(cfg.model.path, s.baseModel.dir, 'from the same base model');
  t.match(lines.join('\n'), /tool-call rate[\s\S]*ToRL \(C = 1\)[\s\S]*no tool \(C = 0\)/, 'the table is printed');
  const again = await runDemo({ out: join(dir, 'demo2'), steps: 1, cacheDir, recipe: SMALL_RECIPE, baseline: false, progress: false, log: () => {} });
  t.equal(again.baseModel.cached, true, 'the second run finds the base model cached');
  t.equal(again.noTool, null, '--no-baseline: no baseline run');
});

t.test('a demo killed after a checkpoint continues with --resume', async (t) => {
  const out = join(dir, 'killed');
  const child = ['--import', 'tsx', join(root, 'test/helpers/demo-child.ts'), out, cacheDir, '4'];
  await new Promise<void>((resolve) => {
    const p = spawn(process.execPath, child, { cwd: root, stdio: 'ignore' });
    const timer = setInterval(() => existsSync(join(out, 'torl', 'checkpoints', 'step-2')) && p.kill('SIGKILL'), 20);
    p.on('exit', () => {
      clearInterval(timer);
      resolve();
    });
  });
  t.notOk(existsSync(join(out, 'summary.json')), 'killed before the end');
  const r = spawnSync(process.execPath, [...child, '--resume'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  t.equal(r.status, 0, `the resumed demo exits 0 (${r.stderr.slice(-300)})`);
  t.match(r.stdout, /resumed from .*torl.*step-\d/);
  t.same(rows(join(out, 'torl', 'metrics.jsonl')).map((x) => x.step), [0, 1, 2, 3, 4], 'every step once');
  t.same(rows(join(out, 'no-tool', 'metrics.jsonl')).map((x) => x.step), [0, 1, 2, 3, 4], 'the baseline ran too');
  t.ok(existsSync(join(out, 'summary.json')), 'summary written');
});

t.test('torl demo --help', (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib/cli/main.ts'), 'demo', '--help'], { cwd: root, encoding: 'utf8' });
  t.equal(r.status, 0);
  for (const flag of ['--out', '--steps', '--seed', '--checkpoint-every', '--resume', '--no-baseline', '--study']) t.match(r.stdout, flag);
  t.end();
});
