// bench/demo: `torl demo`'s phase times on this machine — the base model (built, or found in
// the cache), the ToRL run (GRPO with the interpreter, C = 1), the no-tool baseline (C = 0) —
// and the step time of ToRL beside the no-tool step measured in the same run, a ratio to set
// beside the paper's (Table 4: 237 s at C = 1 vs 118 s at C = 0 on 8 A800s, 2.0×).
//   npm run bench -- demo [--fresh] [--steps N]
// --fresh builds the base model in an empty cache (the first `torl demo`); by default the
// user's cache is used (a second `torl demo`). Outputs go to a temporary folder.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';

import { runDemo } from '../lib/demo/run-demo.js';
import { backends, reward } from '../lib/index.js';
import { emitJson, fmt, printTable } from './lib/harness.js';

const argv = process.argv.slice(2);
const fresh = argv.includes('--fresh');
const stepsAt = argv.indexOf('--steps');
const steps = stepsAt >= 0 ? Number(argv[stepsAt + 1]) : undefined;
const out = mkdtempSync(join(tmpdir(), 'torl-bench-demo-'));
const cacheDir = fresh ? mkdtempSync(join(tmpdir(), 'torl-bench-cache-')) : undefined;

const s = await runDemo({ out, steps, cacheDir, progress: false, log: () => {} });
await reward.shutdownGrader();
const stepTime = (dir: string) => {
  const rows = readFileSync(join(out, dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).filter((r) => r.step! > 0);
  const mean = (k: string) => rows.reduce((a, r) => a + (r[k] ?? 0), 0) / rows.length;
  return { step: mean('time/step_s'), rollout: mean('time/rollout_s'), reward: mean('time/reward_s'), train: mean('time/train_s'), val: mean('time/val_s') };
};
const a = stepTime('torl'), b = s.noTool ? stepTime('no-tool') : null;
const where = `${cpus()[0]?.model ?? 'CPU'}, ${backends().cpu.threads} threads, ${backends().cpu.simd}`;
printTable(`torl demo phases (${where})`, ['phase', 'seconds'], [
  [s.baseModel.cached ? 'base model (cached)' : 'base model (built)', s.baseModel.seconds],
  ['ToRL run', s.torl.seconds],
  ['no-tool run', s.noTool?.seconds ?? NaN],
  ['total', s.seconds],
]);
printTable('mean step (s)', ['run', 'step', 'rollout', 'reward wait', 'train', 'C=1 / C=0'], [
  ['ToRL (C = 1)', a.step, a.rollout, a.reward, a.train, b ? `${fmt(a.step / b.step)}x` : 'n/a'],
  ...(b ? [['no tool (C = 0)', b.step, b.rollout, b.reward, b.train, '1x']] : []),
  ['paper (Table 4)', 237, NaN, NaN, NaN, `${fmt(237 / 118)}x`],
]);
emitJson({ bench: 'demo', where, fresh, seconds: s.seconds, baseModel: s.baseModel, torl: { ...s.torl, step: a }, noTool: s.noTool ? { ...s.noTool, step: b } : null, stepRatio: b ? a.step / b.step : null, paperStepRatio: 237 / 118 });
