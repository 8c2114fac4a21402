// Math-equivalence of an answer and a gold answer. Our own layer decides what it can
// synchronously (exact strings, numbers as big-integer rationals, constant expressions in
// radicals, π, i, powers, n! and binomials (exact.ts), multiple choice, bases, text, and the
// containers: tuples, intervals and inequalities, sets, matrices, equations, ±); only single
// expressions it cannot decide (unknowns, trigonometry, logarithms, e…) go to the symbolic
// comparison on a worker thread, under a time budget.

import { expectString } from './check.js';
import { compact, normalizeAnswer } from './normalize.js';
import { runSymbolic } from './pool.js';
import { asRational, evaluateExact, exactEquals, exactOf, exactToNumber, type ExactValue } from './exact.js';
import { parseNumber, rational, rationalEquals, rationalsClose, type NumberLiteral, type Rational } from './rational.js';
import { hasUnknowns, isNamed, isVariable, parseAnswer, type AnswerNode } from './structure.js';
import type { SymbolicQuery } from './query.js';

/** The rule by which two answers were found equal. */
export type MatchRule =
  | 'exact' // the same text after normalisation
  | 'number' // equal numbers (exact rational comparison)
  | 'numeric' // a decimal within the relative tolerance of the other number
  | 'percent' // x% against x/100, or against x when |x| ≥ 1
  | 'symbolic' // equal expressions: exact radical/π arithmetic, else compute-engine evaluation
  | 'equation' // x = 3 vs 3, or equivalent equations
  | 'tuple'
  | 'interval'
  | 'set'
  | 'matrix'
  | 'pm' // a ± b vs its two values
  | 'choice' // the same multiple-choice letter
  | 'base' // the same number in a base subscript (52_8)
  | 'text'; // the same words, case-insensitively

/** Why two answers were not found equal. */
export type MismatchRule = 'mismatch' | 'timeout' | 'too-long';

export type EquivalenceResult = { equal: true; rule: MatchRule } | { equal: false; rule: MismatchRule };

export interface EquivalenceOptions {
  /** Relative tolerance for decimals and evaluated expressions (default 1e-6). Integers and fractions compare exactly. */
  relTol?: number;
  /**
   * Accept x% as x/100 (default true: 25% equals 0.25). x% also equals x when |x| ≥ 1
   * (25% equals 25), never below (\frac{1}{2}% is not \frac{1}{2}).
   */
  percentAsFraction?: boolean;
  /** Worker-thread time the symbolic comparisons of one grade may use, in ms (default 2000). */
  timeoutMs?: number;
  /** Use the symbolic comparison at all (default true). */
  symbolic?: boolean;
}

/** Answers longer than this (after extraction) are compared as exact strings only. */
export const MAX_ANSWER_LENGTH = 10_000;
/** Expressions longer than this never reach the symbolic comparison. */
const MAX_SYMBOLIC_LENGTH = 1_000;

interface Context {
  relTol: number;
  percentAsFraction: boolean;
  symbolic: boolean;
  remainingMs: number;
}

const MISMATCH: EquivalenceResult = { equal: false, rule: 'mismatch' };
const match = (rule: MatchRule): EquivalenceResult => ({ equal: true, rule });

/**
 * Whether `answer` (e.g. the content of a \boxed{}) equals `gold` (which may be LaTeX),
 * and by which rule. Never throws on strings (a non-string argument is a TypeError naming it),
 * and never runs answer text as code.
 */
export async function isEquivalent(answer: string, gold: string, options: EquivalenceOptions = {}): Promise<EquivalenceResult> {
  expectString('isEquivalent', 'answer', answer);
  expectString('isEquivalent', 'gold', gold);
  if (answer.trim() === gold.trim()) return match('exact');
  if (answer.length > MAX_ANSWER_LENGTH || gold.length > MAX_ANSWER_LENGTH) return { equal: false, rule: 'too-long' };
  const ctx: Context = {
    relTol: options.relTol ?? 1e-6,
    percentAsFraction: options.percentAsFraction ?? true,
    symbolic: options.symbolic ?? true,
    remainingMs: options.timeoutMs ?? 2000,
  };
  try {
    let [a, g] = [normalizeAnswer(answer), normalizeAnswer(gold)];
    [a, g] = [withoutThousands(a, g), withoutThousands(g, a)];
    if (compact(a) === compact(g)) return match('exact');
    return await compareNodes(parseAnswer(a), parseAnswer(g), ctx);
  } catch {
    return MISMATCH; // a bug on some input must not stop training; the answer simply does not count
  }
}

const THOUSANDS = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$/;

/** `s` without thousands commas when it is such a number and `other` is not a list. */
function withoutThousands(s: string, other: string): string {
  return THOUSANDS.test(s) && (!other.includes(',') || THOUSANDS.test(other)) ? s.replace(/,/g, '') : s;
}

/** The result of `inner` reported under the container's rule when equal. */
function as(rule: MatchRule, inner: EquivalenceResult): EquivalenceResult {
  return inner.equal ? match(rule) : inner;
}

async function compareNodes(a: AnswerNode, g: AnswerNode, ctx: Context): Promise<EquivalenceResult> {
  if (a.kind === 'equation' && g.kind !== 'equation') return isNamed(a.lhs) ? as('equation', await compareNodes(a.rhs, g, ctx)) : MISMATCH;
  if (g.kind === 'equation' && a.kind !== 'equation') return isNamed(g.lhs) ? as('equation', await compareNodes(a, g.rhs, ctx)) : MISMATCH;
  switch (g.kind) {
    case 'scalar':
      return a.kind === 'scalar' ? compareScalars(a.text, g.text, ctx) : MISMATCH;
    case 'equation':
      return a.kind === 'equation' ? compareEquations(a, g, ctx) : MISMATCH;
    case 'ordered': {
      const interval = g.interval || (a.kind === 'ordered' && a.interval);
      const rule = interval || !(g.open === '(' && g.close === ')') || g.items.some(isInfinity) ? 'interval' : 'tuple';
      if (a.kind === 'ordered') {
        if (a.variable && g.variable && a.variable !== g.variable) return MISMATCH;
        return a.open === g.open && a.close === g.close ? as(rule, await pairwise(a.items, g.items, ctx)) : MISMATCH;
      }
      if (a.kind === 'unordered' && g.seq) return as('set', await matchUnordered(a.items, g.items, ctx));
      const named = namedValues(a);
      if (named && isTuple(g)) return as('tuple', await pairwise(named, g.items, ctx));
      return a.kind === 'matrix' && g.open === '(' ? as('matrix', await pairwise(column(a), g.items, ctx)) : MISMATCH;
    }
    case 'unordered': {
      if (a.kind === 'ordered' && a.seq) return as('set', await matchUnordered(a.items, g.items, ctx));
      const named = namedValues(g);
      if (named && a.kind === 'ordered' && isTuple(a)) return as('tuple', await pairwise(a.items, named, ctx));
      if (a.kind !== 'unordered') return MISMATCH;
      return as(a.form === 'pm' || g.form === 'pm' ? 'pm' : 'set', await matchUnordered(a.items, g.items, ctx));
    }
    case 'union':
      if (a.kind !== 'union' || (a.variable && g.variable && a.variable !== g.variable)) return MISMATCH;
      return as('interval', await matchUnordered(a.items, g.items, ctx));
    case 'matrix':
      if (a.kind === 'matrix') {
        const shapeOk = a.rows.length === g.rows.length && a.rows.every((row, i) => row.length === g.rows[i]!.length);
        return shapeOk ? as('matrix', await pairwise(a.rows.flat(), g.rows.flat(), ctx)) : MISMATCH;
      }
      return a.kind === 'ordered' && a.open === '(' && !a.interval ? as('matrix', await pairwise(a.items, column(g), ctx)) : MISMATCH;
  }
}

/**
 * The values of "a = 5, b = 7" (a list of equations naming distinct unknowns), in the
 * order written, to compare with a tuple; null for anything else ("x = 1, x = 2" is a
 * solution set, not a tuple).
 */
function namedValues(node: AnswerNode): AnswerNode[] | null {
  if (node.kind !== 'unordered' || node.form !== 'list') return null;
  const names = new Set<string>();
  for (const item of node.items) {
    if (item.kind !== 'equation' || !isVariable(item.lhs)) return null;
    names.add(compact(item.lhs));
  }
  return names.size === node.items.length ? node.items.map((item) => (item.kind === 'equation' ? item.rhs : item)) : null;
}

/** A tuple in parentheses (not an interval read from an inequality, not [a, b]). */
function isTuple(node: AnswerNode): boolean {
  return node.kind === 'ordered' && node.open === '(' && node.close === ')' && !node.interval && !node.items.some(isInfinity);
}

function isInfinity(node: AnswerNode): boolean {
  return node.kind === 'scalar' && /^-?\\infty$/.test(compact(node.text));
}

/** The entries of a one-column matrix (a column vector), or [] when it has more columns. */
function column(m: { rows: AnswerNode[][] }): AnswerNode[] {
  return m.rows.every((row) => row.length === 1) ? m.rows.map((row) => row[0]!) : [];
}

/** Items equal in order; a timeout anywhere is reported as such. */
async function pairwise(as: AnswerNode[], gs: AnswerNode[], ctx: Context): Promise<EquivalenceResult> {
  if (as.length !== gs.length || as.length === 0) return MISMATCH;
  for (let i = 0; i < gs.length; i++) {
    const r = await compareNodes(as[i]!, gs[i]!, ctx);
    if (!r.equal) return r;
  }
  return match('tuple');
}

/** Items equal in some order (each gold item matched to a distinct answer item). */
async function matchUnordered(as: AnswerNode[], gs: AnswerNode[], ctx: Context): Promise<EquivalenceResult> {
  if (as.length !== gs.length || as.length === 0) return MISMATCH;
  const used = new Array<boolean>(as.length).fill(false);
  let timedOut = false;
  for (const g of gs) {
    let found = false;
    for (let i = 0; i < as.length && !found; i++) {
      if (used[i]) continue;
      const r = await compareNodes(as[i]!, g, ctx);
      if (r.equal) used[i] = found = true;
      else if (r.rule === 'timeout') timedOut = true;
    }
    if (!found) return timedOut ? { equal: false, rule: 'timeout' } : MISMATCH;
  }
  return match('set');
}

async function compareEquations(
  a: { lhs: string; rhs: AnswerNode },
  g: { lhs: string; rhs: AnswerNode },
  ctx: Context,
): Promise<EquivalenceResult> {
  if (isVariable(a.lhs) && compact(a.lhs) === compact(g.lhs)) {
    const same = await compareNodes(a.rhs, g.rhs, ctx);
    if (same.equal) return as('equation', same);
  }
  if (a.rhs.kind !== 'scalar' || g.rhs.kind !== 'scalar') return MISMATCH;
  const difference = (lhs: string, rhs: string) => `(${lhs})-(${rhs})`;
  return symbolic(difference(a.lhs, a.rhs.text), difference(g.lhs, g.rhs.text), 'equation', 'equation', ctx);
}

async function compareScalars(a: string, g: string, ctx: Context): Promise<EquivalenceResult> {
  if (compact(a) === compact(g)) return match('exact');
  if (a === '' || g === '') return MISMATCH;
  const goldChoice = choiceLetter(g, CHOICE_GOLD);
  if (goldChoice) return choiceLetter(a, CHOICE_ANSWER) === goldChoice ? match('choice') : MISMATCH;
  const base = compareBases(a, g);
  if (base !== undefined) return base ? match('base') : MISMATCH;
  if (isText(a) || isText(g)) return textKey(a) === textKey(g) ? match('text') : MISMATCH;
  const na = readNumber(a);
  const ng = readNumber(g);
  if (na && ng) {
    const verdict = compareNumbers(na, ng, ctx);
    if (verdict) return verdict;
  }
  if ((na && hasUnknowns(g)) || (ng && hasUnknowns(a))) return MISMATCH; // a number never equals an expression in x
  if (/^[\d.]+(?: [\d.]+)+$/.test(a) || /^[\d.]+(?: [\d.]+)+$/.test(g)) return MISMATCH; // "1 2" is two numbers, not LaTeX's 12
  const strip = (s: string) => s.replace(/%$/, '');
  return symbolic(strip(a), strip(g), 'value', 'symbolic', ctx);
}

/** A number read by our own layer: a literal, or a constant expression evaluated exactly. */
interface ReadNumber extends NumberLiteral {
  /** The exact value when it is not rational (radicals, π); `value` is then unused. */
  irrational?: ExactValue;
}

function readNumber(s: string): ReadNumber | null {
  const literal = parseNumber(s);
  if (literal) return literal;
  const percent = s.endsWith('%');
  const evaluated = evaluateExact(percent ? s.slice(0, -1).trimEnd() : s);
  if (!evaluated) return null;
  const q = asRational(evaluated.value);
  return q
    ? { value: q, decimal: evaluated.decimal, percent }
    : { value: { num: 0n, den: 1n }, decimal: evaluated.decimal, percent, irrational: evaluated.value };
}

/**
 * Two numbers of our own layer: a verdict, or null when only the symbolic layer can tell
 * (an irrational value against a percentage).
 */
function compareNumbers(a: ReadNumber, g: ReadNumber, ctx: Context): EquivalenceResult | null {
  if (a.irrational || g.irrational) {
    if (a.percent || g.percent) return null;
    if (a.irrational && g.irrational && exactEquals(a.irrational, g.irrational)) return match('symbolic');
    if (!a.decimal && !g.decimal) return MISMATCH; // canonical forms: different terms, different numbers
    const [x, y] = [exactToNumber(a.irrational ?? exactOf(a.value)), exactToNumber(g.irrational ?? exactOf(g.value))];
    if (Number.isNaN(x) || Number.isNaN(y)) return null; // complex and rounded: the symbolic layer compares
    return Math.abs(x - y) <= ctx.relTol * Math.max(Math.abs(x), Math.abs(y)) ? match('symbolic') : MISMATCH;
  }
  const percent = a.percent !== g.percent;
  const candidates: [Rational, Rational][] = [];
  const hundredth = (r: Rational) => rational(r.num, r.den * 100n)!;
  const atLeastOne = (r: Rational) => (r.num < 0n ? -r.num : r.num) >= r.den;
  if (!percent) candidates.push([a.value, g.value]);
  else {
    const [p, plain] = a.percent ? [a.value, g.value] : [g.value, a.value];
    if (ctx.percentAsFraction) candidates.push([hundredth(p), plain]);
    if (atLeastOne(p)) candidates.push([p, plain]);
  }
  const rule: MatchRule = a.percent || g.percent ? 'percent' : 'number';
  for (const [x, y] of candidates) {
    if (rationalEquals(x, y)) return match(rule);
    if ((a.decimal || g.decimal) && rationalsClose(x, y, ctx.relTol)) return match(a.percent || g.percent ? 'percent' : 'numeric');
  }
  return MISMATCH;
}

async function symbolic(a: string, b: string, mode: SymbolicQuery['mode'], rule: MatchRule, ctx: Context): Promise<EquivalenceResult> {
  if (!ctx.symbolic || a.length > MAX_SYMBOLIC_LENGTH || b.length > MAX_SYMBOLIC_LENGTH) return MISMATCH;
  if (ctx.remainingMs <= 0) return { equal: false, rule: 'timeout' };
  const { verdict, elapsedMs } = await runSymbolic({ a, b, mode, relTol: ctx.relTol }, ctx.remainingMs);
  ctx.remainingMs -= elapsedMs;
  if (verdict === 'equal') return match(rule);
  return verdict === 'timeout' ? { equal: false, rule: 'timeout' } : MISMATCH;
}

const CHOICE_GOLD = /^\(([A-Ea-e])\)$|^([A-E])$/;
const CHOICE_ANSWER = /^\(?([A-Ea-e])\)?(?:[\s.:)].*)?$/;

/** The multiple-choice letter of `s` (upper case), or null. */
function choiceLetter(s: string, pattern: RegExp): string | null {
  const m = pattern.exec(s);
  return m ? (m[1] ?? m[2]!).toUpperCase() : null;
}

const BASE = /^([0-9A-Za-z]+)_(?:\{\(?(\d+)\)?\}|(\d))$/;

/**
 * Numbers with a base subscript (52_8): equal when they have the same value, or when the
 * other side is the same digits without the subscript. Undefined when neither side has one.
 */
function compareBases(a: string, g: string): boolean | undefined {
  const [ma, mg] = [BASE.exec(compact(a)), BASE.exec(compact(g))];
  if (!ma && !mg) return undefined;
  if (ma && mg) {
    const [va, vg] = [baseValue(ma[1]!, Number(ma[2] ?? ma[3])), baseValue(mg[1]!, Number(mg[2] ?? mg[3]))];
    return va !== null && va === vg;
  }
  const [based, plain] = ma ? [ma, compact(g)] : [mg!, compact(a)];
  // An integer in a base never equals a fraction, a decimal or any other number.
  if (!/^\d+$/.test(plain)) return parseNumber(plain) ? false : undefined;
  const digits = based[1]!.replace(/^0+(?=.)/, '').toUpperCase();
  return baseValue(digits, Number(based[2] ?? based[3])) !== null && digits === plain.replace(/^0+(?=.)/, '');
}

function baseValue(digits: string, base: number): bigint | null {
  if (base < 2 || base > 36) return null;
  let value = 0n;
  for (const d of digits.toLowerCase()) {
    const v = parseInt(d, 36);
    if (v >= base) return null;
    value = value * BigInt(base) + BigInt(v);
  }
  return value;
}

/** Words only (at least three letters, or several words): compared as text, never as a product of symbols. */
function isText(s: string): boolean {
  return /^[A-Za-z][A-Za-z ]*[A-Za-z]$/.test(s) && (s.includes(' ') || s.length >= 3);
}

function textKey(s: string): string {
  return s.toLowerCase().replace(/ /g, '');
}
