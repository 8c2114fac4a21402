// Shared by every benchmark: timing (median of repeated runs after warm-up),
// the reference run in Python, and the output convention (a readable table,
// then one JSON line with the figures and ratios as the last line).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import type { Model } from '../../lib/index.js';

export interface Timing {
  /** median seconds per run */
  median: number;
  min: number;
  reps: number;
}

/** Runs fn until minSeconds have passed (at least minReps times) after `warmup` untimed runs. */
export function time(fn: () => void, { minSeconds = 0.5, minReps = 3, maxReps = 200, warmup = 1 } = {}): Timing {
  for (let i = 0; i < warmup; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minReps || (performance.now() - start < minSeconds * 1000 && times.length < maxReps)) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, min: times[0]!, reps: times.length };
}

/**
 * The environment the PyTorch CPU references run under. Debian's torch runs its ops on libgomp
 * threads and its GEMMs on OpenBLAS's own pthreads; with libgomp's default active waiting their
 * threads fight over the cores (measured on 2 cores: decode 3.4x slower at batch 1, 2x at batch
 * 64; train ~2x). OMP_WAIT_POLICY=PASSIVE ends that; the glibc malloc thresholds keep freed
 * tensors in the heap rather than unmapping them (what PyTorch's CPU tuning guide gets from
 * jemalloc/tcmalloc). Both only speed torch up; `--torch-untuned` on a bench's command line drops them.
 */
export const TORCH_CPU_ENV: Readonly<Record<string, string>> = process.argv.includes('--torch-untuned')
  ? {}
  : { OMP_WAIT_POLICY: 'PASSIVE', GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824' };

/** process.env with TORCH_CPU_ENV over it. */
export function torchCpuEnv(): Record<string, string | undefined> {
  return { ...process.env, ...TORCH_CPU_ENV };
}

/** Debian's system Python, where python3-torch / python3-numpy live; null when absent. */
export const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : null;

/**
 * Runs a Python reference script with JSON on stdin; returns its JSON stdout,
 * or {error} naming why it could not run (no interpreter, missing module, crash).
 */
export function runPython(
  python: string | null,
  script: string,
  input: unknown,
  env: Record<string, string | undefined> = process.env,
): { ok: true; value: unknown } | { ok: false; error: string } {
  if (!python) return { ok: false, error: 'no python interpreter' };
  const r = spawnSync(python, [script], { input: JSON.stringify(input), encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (r.error) return { ok: false, error: `${python}: ${r.error.message}` };
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() ?? '';
    return { ok: false, error: `${python} ${script} exited ${r.status}: ${last}` };
  }
  try {
    return { ok: true, value: JSON.parse(r.stdout.trim().split('\n').pop() ?? '') };
  } catch {
    return { ok: false, error: `${script} printed no JSON` };
  }
}

/** Prints rows as an aligned table under a title. */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  console.log(`\n${title}`);
  for (const [n, r] of cells.entries()) {
    console.log(r.map((c, i) => String(c).padStart(widths[i]!)).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}

/** 3 significant figures, no exponent for everyday magnitudes. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
  return x.toFixed(Math.min(digits, 6));
}

/** ours / reference as "1.23x", or "n/a". */
export function ratio(ours: number, ref: number | undefined): string {
  return ref && Number.isFinite(ref) ? `${(ours / ref).toFixed(2)}x` : 'n/a';
}

/** The last line of every benchmark: one JSON object. */
export function emitJson(result: Record<string, unknown>): void {
  console.log(JSON.stringify(result));
}

/**
 * Calls `record(ms, rows)` after every native generateStep of `model` (an Engine makes one a step):
 * its wall time and the rows it sampled.
 */
export function onGenerateStep(model: Model, record: (ms: number, rows: number) => void): void {
  const nat = model.native;
  const inner = nat.generateStep.bind(nat);
  Object.defineProperty(nat, 'generateStep', {
    value: async (...args: Parameters<typeof inner>) => {
      const t0 = performance.now();
      try {
        return await inner(...args);
      } finally {
        record(performance.now() - t0, args[1].sampleSeqs.shape[0]!);
      }
    },
  });
}
