// Sandbox latency and throughput: the warm pool (PythonSandbox) beside spawning a cold
// `python3 -c` per request, measured in the same run.
//   npm run bench -- sandbox [--workers N] [--n N] [--isolation auto|namespaces|bwrap|rlimits] [--allow-insecure]
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { PythonSandbox, type IsolationRequest, type RunRequest } from '../lib/sandbox/index.js';

const exec = promisify(execFile);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const workers = arg('workers', availableParallelism());
const n = arg('n', 200);
const isolationAt = process.argv.indexOf('--isolation');
const isolation = (isolationAt > 0 ? process.argv[isolationAt + 1] : 'auto') as IsolationRequest;

const TRIVIAL = 'print(1 + 1)';
const SYMPY = 'import sympy\nx = sympy.Symbol("x")\nprint(sympy.solve(x**2 - 5*x + 6, x))';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Latency of `count` runs one at a time; `before` (untimed) runs ahead of each. */
async function timeEach(count: number, label: string, one: () => Promise<void>, before?: () => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    await before?.();
    const t0 = performance.now();
    await one();
    ms.push(performance.now() - t0);
    if ((i + 1) % Math.max(1, Math.floor(count / 4)) === 0) process.stderr.write(`  ${label}: ${i + 1}/${count}\n`);
  }
  return ms;
}

/** Busy CPU time of the whole machine so far, ms (Linux /proc/stat; null elsewhere). */
function machineBusyMs(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!) * 10; // USER_HZ = 100
  } catch {
    return null;
  }
}

/** Executions per second with `concurrency` requests in flight until `count` are done,
 *  and the machine's busy CPU time per execution meanwhile (everything: Node, workers,
 *  children, and whatever else runs). */
async function saturated(count: number, concurrency: number, one: () => Promise<void>): Promise<{ rate: number; cpuMs: number | null }> {
  let next = 0;
  const busy0 = machineBusyMs();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < count) await one();
  }));
  const rate = count / ((performance.now() - t0) / 1000);
  const busy1 = machineBusyMs();
  return { rate, cpuMs: busy0 === null || busy1 === null ? null : (busy1 - busy0) / count };
}

const sb = new PythonSandbox({ workers, isolation, allowInsecure: process.argv.includes('--allow-insecure') });
const info = await sb.info();
const python = info.python.executable;
process.stderr.write(`sandbox: ${info.isolation} (secure ${info.guarantees.secure}), ${workers} workers, preloaded ${info.preloaded.join(', ')}\n`);

const runOk = (req: RunRequest) => async () => {
  const r = await sb.run(req);
  if (r.status !== 'ok') throw new Error(`bench run failed: ${JSON.stringify(r)}`);
};
const cold = (code: string) => async () => {
  await exec(python, ['-c', code]);
};

// Latency is measured with a warm worker waiting (sb.warm() before each run): the time a
// request takes when the pool has capacity. Back-to-back runs on a small machine queue
// behind the previous runs' clean-up and next fork; that cost shows in the saturated
// rows (and in the back-to-back row, for reference).
const warm = () => sb.warm();
await timeEach(10, 'warm-up', runOk({ code: TRIVIAL }));
const poolTrivial = await timeEach(n, 'pool trivial', runOk({ code: TRIVIAL }), warm);
const backToBack = await timeEach(n >> 1, 'pool trivial back-to-back', runOk({ code: TRIVIAL }));
const coldTrivial = await timeEach(Math.max(10, n >> 2), 'cold trivial', cold(TRIVIAL));
const poolSympy = await timeEach(Math.max(10, n >> 2), 'pool sympy', runOk({ code: SYMPY }), warm);
const coldSympy = await timeEach(Math.max(4, n >> 5), 'cold sympy', cold(SYMPY));
process.stderr.write('  saturating...\n');
const poolRate = await saturated(2 * n, 4 * workers, runOk({ code: TRIVIAL }));
const coldRate = await saturated(Math.max(20, n >> 1), workers, cold(TRIVIAL));
const poolSympyRate = await saturated(n >> 1, 4 * workers, runOk({ code: SYMPY }));
const coldSympyRate = await saturated(Math.max(4, n >> 5), workers, cold(SYMPY));
await sb.close();

const rows: [string, number, number, 'lower' | 'higher'][] = [
  ['trivial p50 (ms)', pct(poolTrivial, 50), pct(coldTrivial, 50), 'lower'],
  ['trivial p95 (ms)', pct(poolTrivial, 95), pct(coldTrivial, 95), 'lower'],
  ['trivial back-to-back p50 (ms)', pct(backToBack, 50), pct(coldTrivial, 50), 'lower'],
  ['sympy solve p50 (ms)', pct(poolSympy, 50), pct(coldSympy, 50), 'lower'],
  ['sympy solve p95 (ms)', pct(poolSympy, 95), pct(coldSympy, 95), 'lower'],
  ['trivial saturated (exec/s)', poolRate.rate, coldRate.rate, 'higher'],
  ['sympy saturated (exec/s)', poolSympyRate.rate, coldSympyRate.rate, 'higher'],
];
// What a saturated execution costs the machine: the figure that decides exec/s on
// any number of cores (not printed where /proc/stat is missing).
if (poolRate.cpuMs !== null && coldRate.cpuMs !== null) rows.push(['trivial CPU per exec (ms)', poolRate.cpuMs, coldRate.cpuMs, 'lower']);
const speedup = (ours: number, ref: number, better: 'lower' | 'higher') => (better === 'lower' ? ref / ours : ours / ref);
console.log(`\nsandbox: ${info.isolation}, ${workers} workers, python ${info.python.version}, preloaded: ${info.preloaded.join(', ')}`);
console.log(`${'metric'.padEnd(30)} ${'torl pool'.padStart(10)} ${'cold python3 -c'.padStart(16)} ${'torl speed-up'.padStart(13)}`);
for (const [name, ours, ref, better] of rows) {
  console.log(`${name.padEnd(30)} ${ours.toFixed(1).padStart(10)} ${ref.toFixed(1).padStart(16)} ${(speedup(ours, ref, better).toFixed(1) + 'x').padStart(13)}`);
}
console.log(JSON.stringify({
  bench: 'sandbox',
  isolation: info.isolation,
  workers,
  trivialP50Ms: pct(poolTrivial, 50), trivialP95Ms: pct(poolTrivial, 95),
  coldTrivialP50Ms: pct(coldTrivial, 50), backToBackP50Ms: pct(backToBack, 50),
  sympyP50Ms: pct(poolSympy, 50), sympyP95Ms: pct(poolSympy, 95),
  coldSympyP50Ms: pct(coldSympy, 50),
  sympySpeedup: pct(coldSympy, 50) / pct(poolSympy, 50),
  execPerSec: poolRate.rate, coldExecPerSec: coldRate.rate, throughputRatio: poolRate.rate / coldRate.rate,
  cpuMsPerExec: poolRate.cpuMs, coldCpuMsPerExec: coldRate.cpuMs,
  sympyExecPerSec: poolSympyRate.rate, coldSympyExecPerSec: coldSympyRate.rate,
}));
