// Exact resume through the CLI: a 6-step run against one SIGKILLed after its step-3 checkpoint
// and resumed — identical metrics for steps 4–6 (timings aside) and byte-identical final
// weights; SIGINT finishes the step under way, checkpoints and exits 0.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { trainerFixture } from '../helpers/trainer-fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliArgs = (...args: string[]) => ['--import', 'tsx', join(root, 'lib/cli/main.ts'), ...args];
const fx = await trainerFixture();
const configFile = join(fx.dir, 'run.json');
writeFileSync(configFile, JSON.stringify(fx.config(join(fx.dir, 'unused'))));

const train = (...args: string[]) => spawnSync(process.execPath, cliArgs('train', configFile, ...args), { cwd: root, encoding: 'utf8', timeout: 300_000 });
const rows = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
/** Everything but wall-clock figures. */
const stable = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('time/') && k !== 'rollout/tokens_per_s' && k !== 'rollout/tool_latency_ms'));

/** Start a run and SIGKILL it once `file` exists; resolves when it is dead. */
function killWhen(file: string, ...args: string[]): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, cliArgs('train', configFile, ...args), { cwd: root, stdio: 'ignore' });
    const timer = setInterval(() => {
      if (existsSync(file)) child.kill('SIGKILL');
    }, 20);
    child.on('exit', () => {
      clearInterval(timer);
      resolve();
    });
  });
}

t.test('a run killed after its step-3 checkpoint and resumed = the uninterrupted run', async (t) => {
  const a = join(fx.dir, 'a'), b = join(fx.dir, 'b');
  const full = train('--out', a);
  t.equal(full.status, 0, `the uninterrupted run exits 0 (${full.stderr.slice(-400)})`);
  await killWhen(join(b, 'checkpoints', 'step-3'), '--out', b);
  t.ok(existsSync(join(b, 'checkpoints', 'step-3', 'trainer_state.json')), 'the step-3 checkpoint is complete after SIGKILL');
  t.notOk(existsSync(join(b, 'model')), 'the killed run wrote no final model');
  const again = train('--out', b);
  t.equal(again.status, 1, 'without --resume the folder is refused');
  t.match(again.stderr, /already holds a run.*--resume/);
  const resumed = train('--out', b, '--resume');
  t.equal(resumed.status, 0, `the resumed run exits 0 (${resumed.stderr.slice(-400)})`);
  t.match(resumed.stdout, /resumed from .*step-3 \(step 3\)/);
  const ra = rows(a), rb = rows(b);
  t.same(rb.map((r) => r.step), [0, 1, 2, 3, 4, 5, 6], 'metrics: validation row 0, then steps 1–6, once each');
  t.same(rb.slice(4).map(stable), ra.slice(4).map(stable), 'steps 4–6: identical metrics');
  t.ok(ra.some((r) => r['actor/grad_norm']! > 0), 'the run did train (a nonzero gradient)');
  const wa = readFileSync(join(a, 'model', 'model.safetensors')), wb = readFileSync(join(b, 'model', 'model.safetensors'));
  t.ok(wa.equals(wb), 'identical final weights (byte for byte)');
  for (const f of ['tokenizer.json', 'config.json', 'generation_config.json']) t.ok(existsSync(join(b, 'model', f)), `OUT/model has ${f}`);
  for (const f of ['reward', 'accuracy', 'tool_call_rate', 'tool_error_rate', 'response_length']) t.match(readFileSync(join(b, 'plots', `${f}.svg`), 'utf8'), /^<svg[\s\S]*<path/, `plots/${f}.svg is a drawn figure`);
  t.ok(existsSync(join(b, 'samples', 'step-6.jsonl')) && existsSync(join(b, 'samples', 'val-step-6.jsonl')), 'sample dumps per step and per validation');
});

t.test('SIGINT: the step under way finishes, a checkpoint is written, exit 0', async (t) => {
  const out = join(fx.dir, 'int');
  const child = spawn(process.execPath, cliArgs('train', configFile, '--out', out), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let sent = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!sent && /step 1\/6/.test(stdout)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 0, 'exit 0');
  const done = rows(out).filter((r) => r.step! > 0).length;
  t.ok(done >= 1 && done < 6, `stopped early, after step ${done}`);
  t.ok(existsSync(join(out, 'checkpoints', `step-${done}`, 'trainer_state.json')), `checkpoint step-${done} written`);
  t.match(stdout, new RegExp(`stopped at step ${done}: resume with --resume`));
});
