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

/*
 * GPU results beside the float64 reference. A bf16 input is rounded before the reference sees
 * it, so bf16 storage costs only the rounding of what a kernel stores or computes in bf16; past
 * that, what cannot be bit-identical between the CUDA kernels and the CPU reference is:
 *  - FMA contraction and summation order: nvcc contracts a·b + c into one fma, tensor-core MMAs
 *    add blocks of exact bf16 products with truncation, block reductions and GEMM tilings sum in
 *    another order than the CPU's loops: a few f32 ulps of Σ|terms| (a check's `mag`), growing
 *    with the number of terms;
 *  - expf / exp2f / log2f: CUDA's (≤ 2 ulp; the build does not use --use_fast_math, so no
 *    __expf) beside the CPU's polynomial approximations;
 *  - float atomics: the attention backward adds dQ with fp32 atomicAdd (the flash path) and the
 *    sampler's mass histograms use f64 atomics, in an order that changes from run to run, so
 *    those results are not even bit-reproducible on one GPU;
 *  - intermediates a kernel rounds to bf16 by design: the flash attention's P and dS, the LM
 *    head's d z for its bf16 gradient GEMMs (each case states the bound it gives).
 * Anything else is a bug. So each GPU tolerance in cases/*.ts is the CPU's bound, ~10× it where
 * only the first three apply, plus the bf16 rounding the kernels do, each case saying which.
 * None has been measured on a GPU yet: check:gpu's first run should report the largest ratios.
 */

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
