// The symbolic comparison, run inside the grader's worker thread only (it can take long on
// hostile input, and the thread is terminated then). @cortex-js/compute-engine parses the
// LaTeX into MathJSON (a parser: nothing in the text is ever executed) and evaluates it in
// machine precision; expressions with unknowns are compared at fixed sample points.

import { ComputeEngine } from '@cortex-js/compute-engine';
import type { SymbolicQuery } from './query.js';

type BoxedExpression = ReturnType<ComputeEngine['parse']>;

interface Complex {
  re: number;
  im: number;
}

/** Generic positive values (no roots of small polynomials, inside the domain of √ and log). */
const SAMPLES = [0.5377, 1.8339, 2.2588, 0.8622, 1.3188, 1.3077, 0.4336, 2.3426, 3.5784, 2.7694, 1.3499, 3.0349];
const POINTS = 4;
/**
 * Floor and ceiling are constant between integers, and the samples lie below 3.6:
 * \lfloor m/2 \rfloor and \lfloor m/3 \rfloor are both 0 at every one of them. Expressions
 * with them are compared at the samples scaled by this factor as well.
 */
const STEP_SCALE = 10;
const STEP_FUNCTION = /\\[lr](?:floor|ceil)(?![a-zA-Z])|\\(?:floor|ceil|operatorname\s*\{\s*(?:floor|ceil)\s*\})/;
const MAX_UNKNOWNS = 8;
/**
 * Rounding noise around zero: sin(π) is 1.2e-16, not 0, in double precision. Used only
 * where one side is exactly zero (value mode) or for left − right of equations; two
 * non-zero values are compared relatively, so e^{-40} is not e^{-41}.
 */
const ABS_TOL = 1e-12;

let engine: ComputeEngine | undefined;

/** The worker's engine, created once (machine precision: fast, and no huge bignum work). */
export function computeEngine(): ComputeEngine {
  if (!engine) {
    engine = new ComputeEngine();
    engine.precision = 'machine';
    // The engine chops values below its tolerance (1e-10) to 0, which made e^{-40} equal
    // e^{-41}; near-zero noise is handled in close() instead.
    engine.tolerance = 1e-300;
  }
  return engine;
}

/**
 * Whether the two expressions of `q` are equal (see {@link SymbolicQuery}). Runs in a
 * scope of its own: the engine remembers how symbols were used (x_1 makes x a list), and
 * one comparison must not change the next.
 */
export function symbolicEqual(q: SymbolicQuery): boolean {
  const ce = computeEngine();
  ce.pushScope();
  try {
    return compare(ce, q);
  } finally {
    ce.popScope();
  }
}

function compare(ce: ComputeEngine, q: SymbolicQuery): boolean {
  const a = ce.parse(q.a);
  const b = ce.parse(q.b);
  if (!a.isValid || !b.isValid) return false;
  const unknowns = [...new Set([...a.unknowns, ...b.unknowns])].sort();
  if (unknowns.length > MAX_UNKNOWNS) return false;
  let ratio: number | undefined;
  let compared = 0;
  const scales = unknowns.length > 0 && (STEP_FUNCTION.test(q.a) || STEP_FUNCTION.test(q.b)) ? [1, STEP_SCALE] : [1];
  const points = unknowns.length === 0 ? 1 : POINTS * scales.length;
  for (let p = 0; p < points; p++) {
    const scale = scales[Math.floor(p / POINTS)]!;
    const at = Object.fromEntries(unknowns.map((u, j) => [u, ce.number(scale * SAMPLES[((p % POINTS) * 5 + j) % SAMPLES.length]!)]));
    const x = valueAt(a, at);
    const y = valueAt(b, at);
    const xFinite = isFiniteComplex(x);
    if (xFinite !== isFiniteComplex(y)) return false;
    if (!xFinite) continue; // both undefined here (or infinite): decided structurally below
    if (q.mode === 'value') {
      if (!close(x, y, q.relTol)) return false;
    } else {
      // Left − right of equal equations differ by a constant non-zero real factor.
      if (Math.abs(x.im) > ABS_TOL || Math.abs(y.im) > ABS_TOL) return false;
      const xZero = Math.abs(x.re) <= ABS_TOL;
      if (xZero !== Math.abs(y.re) <= ABS_TOL) return false;
      if (xZero) continue;
      ratio ??= x.re / y.re;
      if (!close(x, { re: ratio * y.re, im: 0 }, q.relTol)) return false;
    }
    compared++;
  }
  return compared > 0 || a.isSame(b);
}

function valueAt(e: BoxedExpression, at: Record<string, BoxedExpression>): Complex {
  const v = (Object.keys(at).length > 0 ? e.subs(at) : e).N();
  return { re: v.re, im: v.im };
}

function isFiniteComplex(z: Complex): boolean {
  return Number.isFinite(z.re) && Number.isFinite(z.im);
}

function close(x: Complex, y: Complex, relTol: number): boolean {
  const d = Math.hypot(x.re - y.re, x.im - y.im);
  const zero = (z: Complex) => z.re === 0 && z.im === 0;
  if (zero(x) || zero(y)) return d <= ABS_TOL;
  return d <= relTol * Math.max(Math.hypot(x.re, x.im), Math.hypot(y.re, y.im));
}
