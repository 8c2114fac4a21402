// Exact numbers: integers of any size, decimals, scientific notation, fractions and mixed
// numbers read into big-integer rationals, so "0.5" = "\frac{1}{2}" is decided exactly and
// 10^20 + 1 never equals 10^20.

/** num/den in lowest terms, den > 0. */
export interface Rational {
  num: bigint;
  den: bigint;
}

/** A number literal as written in an answer. */
export interface NumberLiteral {
  value: Rational;
  /** Written with a decimal point or an exponent, so possibly rounded. */
  decimal: boolean;
  /** Ended with a % sign (already removed from `value`). */
  percent: boolean;
}

/** Exponents beyond this are left to the symbolic layer rather than expanded. */
const MAX_EXPONENT = 1000;

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** num/den reduced, or null when den is 0. */
export function rational(num: bigint, den: bigint): Rational | null {
  if (den === 0n) return null;
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

export function rationalEquals(a: Rational, b: Rational): boolean {
  return a.num === b.num && a.den === b.den;
}

export function rationalToNumber(r: Rational): number {
  // Scale both parts into double range first so huge numerators keep their ratio.
  const shift = BigInt(Math.max(0, Math.max(r.num.toString().length, r.den.toString().length) - 300));
  const scale = 10n ** shift;
  return Number(r.num / scale) / Number(r.den / scale || 1n);
}

function scaleRational(r: Rational, num: bigint, den: bigint): Rational | null {
  return rational(r.num * num, r.den * den);
}

/**
 * Whether |a − b| ≤ relTol · max(|a|, |b|), decided exactly (relTol read as the decimal it
 * prints as): purely relative, so 10^{-11} is not 10^{-10} and 1/2006! is not 1/2004!.
 */
export function rationalsClose(a: Rational, b: Rational, relTol: number): boolean {
  const tol = parseDecimal(String(relTol));
  if (!tol || tol.value.num < 0n) return false;
  const abs = (x: bigint) => (x < 0n ? -x : x);
  const diff = abs(a.num * b.den - b.num * a.den);
  const x = abs(a.num) * b.den;
  const y = abs(b.num) * a.den;
  return diff * tol.value.den <= tol.value.num * (x > y ? x : y);
}

interface Decimal {
  value: Rational;
  decimal: boolean;
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;
const TIMES_TEN = /^(.+?)(?:\\times|\\cdot)10\^(?:\{([+-]?\d+)\}|(\d))$/;

/** A signed decimal in plain or scientific notation (`1.5e3`, `1.5\times10^{3}`). */
function parseDecimal(s: string): Decimal | null {
  const times = TIMES_TEN.exec(s);
  if (times) {
    const mantissa = parseDecimal(times[1]!);
    const exponent = Number(times[2] ?? times[3]);
    if (!mantissa || DECIMAL.exec(times[1]!)?.[4] !== undefined) return null;
    return withExponent(mantissa.value, exponent);
  }
  const m = DECIMAL.exec(s);
  if (!m) return null;
  const [, sign, whole = '', frac = '', exp] = m;
  if (whole === '' && frac === '') return null;
  const value = rational(BigInt((sign === '-' ? '-' : '') + (whole + frac || '0')), 10n ** BigInt(frac.length));
  if (!value) return null;
  if (exp === undefined) return { value, decimal: m[3] !== undefined };
  return withExponent(value, Number(exp));
}

function withExponent(value: Rational, exponent: number): Decimal | null {
  if (Math.abs(exponent) > MAX_EXPONENT) return null;
  const p = 10n ** BigInt(Math.abs(exponent));
  const scaled = exponent >= 0 ? scaleRational(value, p, 1n) : scaleRational(value, 1n, p);
  return scaled && { value: scaled, decimal: true };
}

const FRAC = /^\\frac(?:\{([^{}]+)\}|(\d))(?:\{([^{}]+)\}|(\d))$/;
const MIXED_FRAC = /^(\d+)(\\frac.*)$/;
const MIXED_SLASH = /^(\d+) (\d+)\/(\d+)$/;

/** A fraction \frac{a}{b}, \frac ab or a/b whose parts are decimals. */
function parseFraction(s: string): Decimal | null {
  const frac = FRAC.exec(s);
  const slash = frac ? null : s.split('/');
  const top = frac ? (frac[1] ?? frac[2]!) : slash!.length === 2 ? slash![0]! : null;
  const bottom = frac ? (frac[3] ?? frac[4]!) : slash!.length === 2 ? slash![1]! : null;
  if (top === null || bottom === null) return null;
  const a = parseDecimal(top.replace(/ /g, ''));
  const b = parseDecimal(bottom.replace(/ /g, ''));
  if (!a || !b) return null;
  const value = rational(a.value.num * b.value.den, a.value.den * b.value.num);
  return value && { value, decimal: a.decimal || b.decimal };
}

function addWhole(whole: string, part: Decimal | null): Decimal | null {
  if (!part || part.value.num < 0n) return null;
  const value = rational(BigInt(whole) * part.value.den + part.value.num, part.value.den);
  return value && { value, decimal: part.decimal };
}

/**
 * Reads `s` (already normalised: single spaces, no \left/\right, \dfrac → \frac) as a
 * number literal: an integer, decimal, scientific notation, fraction (\frac{a}{b},
 * \frac ab, a/b) or mixed number (1\frac{4}{5}, 2 1/2), with an optional sign and a
 * trailing %. Anything else (radicals, π, letters) gives null.
 */
export function parseNumber(s: string): NumberLiteral | null {
  let t = s.trim();
  const percent = t.endsWith('%');
  if (percent) t = t.slice(0, -1).trimEnd();
  let negative = false;
  if (t.startsWith('-') || t.startsWith('+')) {
    negative = t[0] === '-';
    t = t.slice(1).trimStart();
  }
  if (t.length === 0 || !/^[\d.\\]/.test(t)) return null;
  const mixedSlash = MIXED_SLASH.exec(t);
  let parsed: Decimal | null;
  if (mixedSlash) parsed = addWhole(mixedSlash[1]!, parseFraction(`${mixedSlash[2]}/${mixedSlash[3]}`));
  else {
    // A space between digits is only a thousands separator (10 000); "1 2" is not 12.
    if (/\d \d/.test(t) && !/^\d{1,3}( \d{3})+(\.\d+)?$/.test(t)) return null;
    t = t.replace(/ /g, '');
    const mixed = MIXED_FRAC.exec(t);
    parsed = mixed ? addWhole(mixed[1]!, parseFraction(mixed[2]!)) : (parseDecimal(t) ?? parseFraction(t));
  }
  if (!parsed) return null;
  const value = negative ? { num: -parsed.value.num, den: parsed.value.den } : parsed.value;
  return { value, decimal: parsed.decimal, percent };
}
