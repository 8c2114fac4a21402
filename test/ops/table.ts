// The table-driven op test (after ggml's test-backend-ops): every op case runs
// on every available backend and each output is compared with its float64
// reference. A case file exports OpCase[]; cases/index.ts lists the files.
import { backends } from '../../lib/index.js';
import { compare } from '../helpers/reference.js';

export interface Tol {
  /** bound: |got − want| ≤ atol + rtol · mag (mag defaults to |want|) */
  rtol: number;
  atol: number;
}

/** One output of an op beside its reference. */
export interface Check {
  got: ArrayLike<number>;
  want: ArrayLike<number>;
  /** Per-entry magnitude for the relative bound (e.g. Σ|a·b| for a dot product). */
  mag?: ArrayLike<number>;
  tol: Tol;
}

export interface OpCase {
  /** Op name as in torl.ops (e.g. 'linear', 'rmsnormBackward'). */
  op: string;
  /** What is special about this case (shape, options). */
  name: string;
  /** Builds seeded inputs, runs the op on `device`, returns each output beside its reference. */
  run(device: string): Record<string, Check> | Promise<Record<string, Check>>;
}

/** Element type a case should use for floating inputs on a device: f32 on the CPU, bf16 on GPUs. */
export function floatDType(device: string): 'f32' | 'bf16' {
  return device === 'cpu' ? 'f32' : 'bf16';
}

/** The devices to run on; GPUs only when present (the reason is reported when not). */
export function devices(): { device: string; skip?: string }[] {
  const cuda = backends().cuda;
  return [
    { device: 'cpu' },
    cuda.available ? { device: 'cuda' } : { device: 'cuda', skip: `no GPU: ${cuda.reason ?? 'unavailable'}` },
  ];
}

/** The first violation among a case's checks, or null. */
export function firstFailure(checks: Record<string, Check>): string | null {
  for (const [name, c] of Object.entries(checks)) {
    const mag = c.mag ?? Array.from(c.want, (v) => Math.abs(v));
    const err = compare(c.got, c.want, mag, c.tol.rtol, c.tol.atol);
    if (err) return `${name}: ${err}`;
  }
  return null;
}
