// Exact evaluation of constant expressions, in our own layer: integers, fractions and
// decimals, + − × ÷, integer powers, n!, \binom{n}{k}, square roots, π and i. A value is a
// finite sum of q·√s·π^k·i^m terms (q rational, s a square-free integer, k an integer,
// m 0 or 1), which is a canonical form: two expressions are equal exactly when their term
// lists are. So
// 2\sqrt{113} = \sqrt{452}, 1/2006! ≠ 1/2004! and 2^{100} + 1 ≠ 2^{100} are decided
// exactly, without the symbolic engine. Anything else (unknowns, e, trig, a sum in a
// denominator, numbers too large to be cheap) gives null and is left to the next layer.
// This is a parser producing numbers: nothing in the text is ever run as code.

import { rational, rationalToNumber, type Rational } from './rational.js';

interface Term {
  q: Rational;
  /** Square-free radicand (1 for none). */
  s: bigint;
  /** Power of π. */
  k: number;
  /** Power of i (0 or 1). */
  m: number;
}

/** A constant: the sum of its terms, keyed by `${s}|${k}|${m}`, none with q = 0. */
export type ExactValue = Map<string, Term>;

export interface Evaluated {
  value: ExactValue;
  /** A decimal literal took part, so the value may be rounded. */
  decimal: boolean;
}

/** Bigints beyond this many bits make an expression "not cheap" (null). */
const MAX_BITS = 80_000;
const MAX_FACTORIAL = 3000;
/** Big-integer multiplication steps (factorials, binomials, powers) one evaluation may take. */
const MAX_WORK = 6000;
let work = 0;

function spend(steps: number | bigint): void {
  work += Number(steps);
  if (work > MAX_WORK) fail();
}
const MAX_TERMS = 16;
const MAX_DEPTH = 100;
/** Radicands are reduced to square-free form by trial division up to their cube root. */
const MAX_RADICAND = 1e12;

/** Thrown (one shared object, no stack trace to build) when an expression is not ours to evaluate. */
const NOT_EXACT = Object.freeze({ notExact: true });
const fail = (): never => {
  throw NOT_EXACT;
};

const ZERO = { num: 0n, den: 1n };

function r(num: bigint, den = 1n): Rational {
  return rational(num, den) ?? fail();
}
const radd = (a: Rational, b: Rational) => r(a.num * b.den + b.num * a.den, a.den * b.den);
const rmul = (a: Rational, b: Rational) => r(a.num * b.num, a.den * b.den);

function bits(n: bigint): number {
  const x = n < 0n ? -n : n;
  return x === 0n ? 0 : x.toString(16).length * 4;
}

function checkSize(q: Rational): Rational {
  if (bits(q.num) > MAX_BITS || bits(q.den) > MAX_BITS) fail();
  return q;
}

function single(q: Rational, s = 1n, k = 0, m = 0): ExactValue {
  const v: ExactValue = new Map();
  if (q.num !== 0n) v.set(`${s}|${k}|${m}`, { q, s, k, m });
  return v;
}

function add(a: ExactValue, b: ExactValue, sign = 1n): ExactValue {
  const out: ExactValue = new Map(a);
  for (const [key, t] of b) {
    const q = sign === 1n ? t.q : { num: -t.q.num, den: t.q.den };
    const have = out.get(key);
    const sum = have ? radd(have.q, q) : q;
    if (sum.num === 0n) out.delete(key);
    else out.set(key, { q: checkSize(sum), s: t.s, k: t.k, m: t.m });
  }
  if (out.size > MAX_TERMS) fail();
  return out;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

function mul(a: ExactValue, b: ExactValue): ExactValue {
  let out: ExactValue = new Map();
  for (const x of a.values()) {
    for (const y of b.values()) {
      // √s1·√s2 = g·√((s1/g)(s2/g)), g = gcd(s1, s2): square-free stays square-free.
      const g = gcd(x.s, y.s);
      const q = checkSize(rmul(rmul(x.q, y.q), r(x.m + y.m === 2 ? -g : g))); // i·i = −1
      out = add(out, single(q, (x.s / g) * (y.s / g), x.k + y.k, (x.m + y.m) % 2));
    }
  }
  return out;
}

/** 1/v for a single term; a sum in a denominator is not handled (null). */
function invert(v: ExactValue): ExactValue {
  if (v.size !== 1) fail();
  const t = [...v.values()][0]!;
  // 1/(q√s π^k) = √s / (q s) · π^−k, and 1/i = −i
  return single(r(t.m ? -t.q.den : t.q.den, t.q.num * t.s), t.s, -t.k, t.m);
}

/** The rational of a value that is one (no radical, no π), else null. */
export function asRational(v: ExactValue): Rational | null {
  if (v.size === 0) return ZERO;
  if (v.size !== 1) return null;
  const t = [...v.values()][0]!;
  return t.s === 1n && t.k === 0 && t.m === 0 ? t.q : null;
}

function integerOf(v: ExactValue): bigint {
  const q = asRational(v);
  if (!q || q.den !== 1n) fail();
  return q!.num;
}

function power(base: ExactValue, exponent: ExactValue): ExactValue {
  const e = asRational(exponent) ?? fail();
  if (e.den === 2n) {
    // b^(p/2) = (√b)^p
    return power(sqrt(base), single(r(e.num)));
  }
  if (e.den !== 1n) {
    const b = asRational(base);
    // A perfect n-th power of a rational (8^{1/3}); anything else is irrational.
    if (!b || e.den > 64n) fail();
    return power(single(nthRoot(b!, Number(e.den))), single(r(e.num)));
  }
  let n = e.num;
  if (n < 0n) {
    n = -n;
    base = invert(base);
  }
  if (n === 0n) {
    if (base.size === 0) fail(); // 0^0
    return single(r(1n));
  }
  const b = asRational(base);
  if (b && base.size === 1) {
    const estimate = Math.max(bits(b.num), bits(b.den)) * Number(n);
    if (estimate > MAX_BITS) fail();
  } else if (n > 64n) fail();
  let result = single(r(1n));
  let sq = base;
  spend(n.toString(2).length * 2);
  for (let m = n; m > 0n; m >>= 1n) {
    if (m & 1n) result = mul(result, sq);
    if (m > 1n) sq = mul(sq, sq);
  }
  return result;
}

function nthRoot(q: Rational, n: number): Rational {
  if (q.num < 0n && n % 2 === 0) fail();
  const root = (x: bigint): bigint => {
    const neg = x < 0n;
    const ax = neg ? -x : x;
    const guess = BigInt(Math.round(Number(ax) ** (1 / n)));
    for (const c of [guess - 1n, guess, guess + 1n]) if (c >= 0n && c ** BigInt(n) === ax) return neg ? -c : c;
    return fail();
  };
  if (bits(q.num) > 1000 || bits(q.den) > 1000) fail();
  return r(root(q.num), root(q.den));
}

/** Largest a with a² | m (m < 2^53), by trial division up to ∛m and a square test of the rest. */
function squarePart(m: number): [number, number] {
  let a = 1;
  let s = 1;
  let rest = m;
  for (let p = 2; p * p * p <= m; p++) {
    while (rest % (p * p) === 0) {
      rest /= p * p;
      a *= p;
    }
    if (rest % p === 0) {
      rest /= p;
      s *= p;
    }
  }
  // rest has no prime factor ≤ ∛m: it is 1, p, p² or pq.
  const root = Math.round(Math.sqrt(rest));
  if (root * root === rest) a *= root;
  else s *= rest;
  return [a, s];
}

function sqrt(v: ExactValue): ExactValue {
  if (v.size === 0) return v;
  const t = v.size === 1 ? [...v.values()][0]! : fail();
  if (t.s !== 1n || t.k % 2 !== 0 || t.m !== 0) fail();
  // √(n/d) = √(n·d)/d; √(−x) = i√x (the principal root)
  const i = t.q.num < 0n ? 1 : 0;
  const m = (i ? -t.q.num : t.q.num) * t.q.den;
  if (m > BigInt(MAX_RADICAND)) {
    // Perfect squares of any size are still exact.
    const root = bigSqrt(m);
    if (root * root !== m) fail();
    return single(r(root, t.q.den), 1n, t.k / 2, i);
  }
  const [a, s] = squarePart(Number(m));
  return single(r(BigInt(a), t.q.den), BigInt(s), t.k / 2, i);
}

function bigSqrt(n: bigint): bigint {
  if (bits(n) > 4000) fail();
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  if (x === 0n) x = 1n;
  for (let i = 0; i < 200; i++) {
    const y = (x + n / x) >> 1n;
    if (y === x || y === x + 1n || y === x - 1n) {
      for (const c of [y - 1n, y, y + 1n]) if (c >= 0n && c * c === n) return c;
      return y;
    }
    x = y;
  }
  return x;
}

function factorial(v: ExactValue): ExactValue {
  const n = integerOf(v);
  if (n < 0n || n > BigInt(MAX_FACTORIAL)) fail();
  spend(n);
  let p = 1n;
  for (let i = 2n; i <= n; i++) p *= i;
  return single(r(p));
}

function binomial(nv: ExactValue, kv: ExactValue): ExactValue {
  const n = integerOf(nv);
  let k = integerOf(kv);
  if (n < 0n || n > 100_000n) fail();
  if (k < 0n || k > n) return new Map();
  if (k > n - k) k = n - k;
  if (k > BigInt(MAX_FACTORIAL)) fail();
  spend(k);
  let c = 1n;
  for (let i = 1n; i <= k; i++) c = (c * (n - k + i)) / i;
  return single(r(c));
}

// ---- parser: recursive descent over a normalised answer, with a depth limit ----

class Parser {
  i = 0;
  depth = 0;
  decimal = false;
  constructor(readonly s: string) {}

  peek(): string {
    while (this.s[this.i] === ' ') this.i++;
    return this.s[this.i] ?? '';
  }

  /** The command name at the cursor (`\frac` → 'frac'), without consuming it. */
  command(): string | null {
    if (this.peek() !== '\\') return null;
    const m = /^\\([a-zA-Z]+)/.exec(this.s.slice(this.i, this.i + 24));
    return m ? m[1]! : null;
  }

  eat(text: string): boolean {
    this.peek();
    if (this.s.startsWith(text, this.i)) {
      this.i += text.length;
      return true;
    }
    return false;
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) fail();
  }

  expression(): ExactValue {
    this.enter();
    let v = this.term();
    for (;;) {
      const c = this.peek();
      if (c === '+' || c === '-') {
        this.i++;
        v = add(v, this.term(), c === '+' ? 1n : -1n);
      } else break;
    }
    this.depth--;
    return v;
  }

  term(): ExactValue {
    let v = this.unary();
    for (;;) {
      const c = this.peek();
      const cmd = this.command();
      if (c === '*' || cmd === 'cdot' || cmd === 'times') {
        this.i += c === '*' ? 1 : cmd!.length + 1;
        v = mul(v, this.unary());
      } else if (c === '/' || cmd === 'div') {
        this.i += c === '/' ? 1 : 4;
        v = mul(v, invert(this.unary()));
      } else if (c === '(' || c === '{' || isImaginaryUnit(this.s, this.i) || (c === '\\' && cmd !== null && IMPLICIT.has(cmd))) {
        v = mul(v, this.power());
      } else if (/[0-9.]/.test(c)) {
        fail(); // "2 3" or ")2": not a product we read
      } else break;
    }
    return v;
  }

  unary(): ExactValue {
    const c = this.peek();
    if (c === '-' || c === '+') {
      this.i++;
      this.enter();
      const v = this.unary();
      this.depth--;
      return c === '-' ? add(new Map(), v, -1n) : v;
    }
    return this.power();
  }

  power(): ExactValue {
    const numberLiteral = /[0-9.]/.test(this.peek());
    let v = this.primary();
    for (;;) {
      if (this.peek() === '!') {
        this.i++;
        if (this.s[this.i] === '!') fail(); // double factorial
        v = factorial(v);
      } else if (this.peek() === '^') {
        this.i++;
        v = power(v, this.exponent());
      } else break;
    }
    // A digit run followed by \frac is a mixed number (2\frac12), read by parseNumber, not here.
    if (numberLiteral && this.command() === 'frac') fail();
    return v;
  }

  exponent(): ExactValue {
    const c = this.peek();
    if (c === '{') return this.group();
    if (c === '-' || c === '+') fail();
    if (/[0-9]/.test(c)) {
      // One digit, as LaTeX reads it; 2^10 is ambiguous (LaTeX: 2¹·0) and left to the next layer.
      if (/[0-9]/.test(this.s[this.i + 1] ?? '')) fail();
      this.i++;
      return single(r(BigInt(c)));
    }
    return this.primary();
  }

  group(): ExactValue {
    if (!this.eat('{')) fail();
    const v = this.expression();
    if (!this.eat('}')) fail();
    return v;
  }

  /** An argument of \frac or \sqrt: a group, or one digit or command token. */
  argument(): ExactValue {
    const c = this.peek();
    if (c === '{') return this.group();
    if (/[0-9]/.test(c)) {
      this.i++;
      return single(r(BigInt(c)));
    }
    if (this.command() === 'pi') return this.primary();
    return fail();
  }

  primary(): ExactValue {
    const c = this.peek();
    if (c === '(') {
      this.i++;
      const v = this.expression();
      if (!this.eat(')')) fail();
      return v;
    }
    if (c === '{') return this.group();
    if (isImaginaryUnit(this.s, this.i)) {
      this.i++;
      return single(r(1n), 1n, 0, 1);
    }
    if (/[0-9.]/.test(c)) {
      const m = /^(\d*)(?:\.(\d+))?/.exec(this.s.slice(this.i, this.i + 2000))!;
      if (m[0] === '' || m[0] === '.' || (m[1] === '' && m[2] === undefined)) fail();
      this.i += m[0].length;
      if (/[0-9]/.test(this.s[this.i] ?? '')) fail(); // longer than we read
      const frac = m[2] ?? '';
      if (m[2] !== undefined) this.decimal = true;
      return single(checkSize(r(BigInt((m[1] || '0') + frac), 10n ** BigInt(frac.length))));
    }
    const cmd = this.command();
    if (cmd === null) return fail();
    this.i += cmd.length + 1;
    switch (cmd) {
      case 'pi':
        return single(r(1n), 1n, 1);
      case 'frac': {
        const num = this.argument();
        return mul(num, invert(this.argument()));
      }
      case 'binom': {
        const n = this.argument();
        return binomial(n, this.argument());
      }
      case 'sqrt': {
        if (this.peek() === '[') {
          this.i++;
          const m = /^\s*(\d+)\s*\]/.exec(this.s.slice(this.i, this.i + 12));
          if (!m) fail();
          this.i += m![0].length;
          const n = Number(m![1]);
          const radicand = this.argument();
          if (n === 2) return sqrt(radicand);
          const q = asRational(radicand) ?? fail();
          return single(nthRoot(q!, n));
        }
        return sqrt(this.argument());
      }
      default:
        return fail();
    }
  }
}

/** Whether `s[i]` is the imaginary unit: a lone i, not part of a word. */
function isImaginaryUnit(s: string, i: number): boolean {
  return s[i] === 'i' && !/[a-zA-Z\\]/.test(s[i - 1] ?? '') && !/[a-zA-Z]/.test(s[i + 1] ?? '');
}

/** Commands that may follow a factor with no operator between (2\sqrt{3}, 3\pi, 2\binom{4}{2}). */
const IMPLICIT = new Set(['sqrt', 'pi', 'binom', 'frac']);

/**
 * The exact value of `s` (a normalised answer) when it is a constant expression of the
 * kinds above, else null. Never throws; cost bounded by the size limits.
 */
export function evaluateExact(s: string): Evaluated | null {
  if (s.length > 2000 || !/^[-+0-9.({\\\si]/.test(s)) return null;
  const p = new Parser(s);
  work = 0;
  try {
    const value = p.expression();
    if (p.peek() !== '') return null;
    return { value, decimal: p.decimal };
  } catch (e) {
    // NOT_EXACT, or a RangeError from a bigint too large: either way not ours to decide.
    void e;
    return null;
  }
}

/** Whether two exact values are the same number. */
export function exactEquals(a: ExactValue, b: ExactValue): boolean {
  if (a.size !== b.size) return false;
  for (const [key, t] of a) {
    const u = b.get(key);
    if (!u || u.q.num !== t.q.num || u.q.den !== t.q.den) return false;
  }
  return true;
}

/** The value in double precision (for comparing with a rounded decimal); NaN when not real. */
export function exactToNumber(v: ExactValue): number {
  let sum = 0;
  for (const t of v.values()) sum += t.m ? Number.NaN : rationalToNumber(t.q) * Math.sqrt(Number(t.s)) * Math.PI ** t.k;
  return sum;
}

/** A rational as an exact value. */
export function exactOf(q: Rational): ExactValue {
  return single(q);
}
