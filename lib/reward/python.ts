// Python (and SymPy) syntax in a final answer, as a model writes it after reading its tool's
// output: `2**10`, `2*sqrt(2)`, `Rational(3, 4)`, `pi/4`, `oo`, `Matrix([[1, 2], [3, 4]])`.
// Rewritten textually into the LaTeX the rest of the grader reads; nothing is evaluated.
// One left-to-right pass with a parenthesis matcher that skips what it cannot read, so the
// cost is linear in practice and bounded by the answer length cap.

/** Python names rewritten when called: name → LaTeX built from the converted arguments. */
const CALLS: Record<string, (args: string[]) => string | null> = {
  sqrt: (a) => (a.length === 1 ? `\\sqrt{${a[0]}}` : null),
  cbrt: (a) => (a.length === 1 ? `\\sqrt[3]{${a[0]}}` : null),
  root: (a) => (a.length === 2 ? `\\sqrt[${a[1]}]{${a[0]}}` : null),
  Rational: (a) => (a.length === 2 ? `\\frac{${a[0]}}{${a[1]}}` : a.length === 1 ? `(${a[0]})` : null),
  Fraction: (a) => (a.length === 2 ? `\\frac{${a[0]}}{${a[1]}}` : a.length === 1 ? `(${a[0]})` : null),
  Integer: (a) => (a.length === 1 ? `(${a[0]})` : null),
  Float: (a) => (a.length === 1 ? `(${a[0]})` : null),
  factorial: (a) => (a.length === 1 ? `(${a[0]})!` : null),
  binomial: (a) => (a.length === 2 ? `\\binom{${a[0]}}{${a[1]}}` : null),
  comb: (a) => (a.length === 2 ? `\\binom{${a[0]}}{${a[1]}}` : null),
  exp: (a) => (a.length === 1 ? `e^{${a[0]}}` : null),
  log: (a) => (a.length === 1 ? `\\ln(${a[0]})` : a.length === 2 ? `\\log_{${a[1]}}(${a[0]})` : null),
  ln: (a) => (a.length === 1 ? `\\ln(${a[0]})` : null),
  Abs: (a) => (a.length === 1 ? `|${a[0]}|` : null),
  abs: (a) => (a.length === 1 ? `|${a[0]}|` : null),
  Matrix: (a) => (a.length === 1 ? a[0]! : null),
  FiniteSet: (a) => `\\{${a.join(', ')}\\}`,
  Interval: (a) => (a.length === 2 ? `[${a[0]}, ${a[1]}]` : null),
  'Interval.open': (a) => (a.length === 2 ? `(${a[0]}, ${a[1]})` : null),
  'Interval.Lopen': (a) => (a.length === 2 ? `(${a[0]}, ${a[1]}]` : null),
  'Interval.Ropen': (a) => (a.length === 2 ? `[${a[0]}, ${a[1]})` : null),
  Union: (a) => (a.length >= 2 ? a.join(' \\cup ') : null),
  sin: (a) => (a.length === 1 ? `\\sin(${a[0]})` : null),
  cos: (a) => (a.length === 1 ? `\\cos(${a[0]})` : null),
  tan: (a) => (a.length === 1 ? `\\tan(${a[0]})` : null),
  asin: (a) => (a.length === 1 ? `\\arcsin(${a[0]})` : null),
  acos: (a) => (a.length === 1 ? `\\arccos(${a[0]})` : null),
  atan: (a) => (a.length === 1 ? `\\arctan(${a[0]})` : null),
};

/** A Python-looking answer: `**`, a known call not preceded by `\`, or a bare pi/oo. */
const LOOKS_PYTHON = /\*|(?<![\\a-zA-Z])(?:sqrt|cbrt|root|Rational|Fraction|Integer|Float|factorial|binomial|comb|exp|log|ln|Abs|abs|Matrix|FiniteSet|Interval(?:\.\w+)?|Union|a?sin|a?cos|a?tan)\s*\(|(?<![\\a-zA-Z])(?:pi|oo)(?![a-zA-Z])/;

const MAX_DEPTH = 32;

/** `s` with Python syntax rewritten as LaTeX; unchanged when it does not look like Python. */
export function fromPython(s: string): string {
  if (!LOOKS_PYTHON.test(s)) return s;
  const out = convert(s, 0);
  return out ?? s;
}

function convert(s: string, depth: number): string | null {
  if (depth > MAX_DEPTH) return null;
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\') {
      // A LaTeX command: copied whole, so \sqrt or \pi are never read as Python names.
      const m = /^\\(?:[a-zA-Z]+|.)/.exec(s.slice(i, i + 40));
      const len = m ? m[0].length : 1;
      out += s.slice(i, i + len);
      i += len;
      continue;
    }
    if (/[a-zA-Z_]/.test(c) && (i === 0 || !/[a-zA-Z_0-9]/.test(s[i - 1]!))) {
      let j = i;
      while (j < s.length && /[a-zA-Z_0-9]/.test(s[j]!)) j++;
      // SymPy's Interval.open / .Lopen / .Ropen
      const dotted = s.slice(i, j) === 'Interval' ? /^\.(?:open|Lopen|Ropen)\b/.exec(s.slice(j, j + 8)) : null;
      if (dotted) j += dotted[0].length;
      const name = s.slice(i, j);
      let k = j;
      while (s[k] === ' ') k++;
      const call = CALLS[name];
      if (call && s[k] === '(') {
        const close = matchingParen(s, k);
        if (close < 0) return null;
        const args = splitArgs(s.slice(k + 1, close));
        const converted = args?.map((a) => convert(a.trim(), depth + 1));
        if (!converted || converted.some((a) => a === null)) return null;
        const latex = call(converted as string[]);
        if (latex === null) return null;
        out += latex;
        i = close + 1;
        continue;
      }
      // pi, oo (∞) and SymPy's I (the imaginary unit) as LaTeX reads them.
      out += name === 'pi' ? '\\pi ' : name === 'oo' ? '\\infty ' : name === 'I' ? 'i' : name;
      i = j;
      continue;
    }
    if (c === '*' && s[i + 1] === '*') {
      // a**b: the exponent is a signed number or name, or a parenthesised group.
      let k = i + 2;
      while (s[k] === ' ') k++;
      const sign = s[k] === '-' || s[k] === '+' ? s[k]! : '';
      if (sign) k++;
      let exponent: string | null;
      let end: number;
      if (s[k] === '(') {
        end = matchingParen(s, k);
        if (end < 0) return null;
        exponent = convert(s.slice(k + 1, end), depth + 1);
        end++;
      } else {
        const m = /^(?:\d+(?:\.\d+)?|[a-zA-Z_]\w*)/.exec(s.slice(k, k + 64));
        if (!m) return null;
        exponent = convert(m[0], depth + 1);
        end = k + m[0].length;
      }
      if (exponent === null) return null;
      out += `^{${sign}${exponent}}`;
      i = end;
      continue;
    }
    if (c === '*') {
      // Multiplication, not a LaTeX superscript star (z^*, a^{*}).
      const before = out.trimEnd().slice(-1);
      if (before === '^' || before === '_' || before === '{' || before === '') out += c;
      else out += ' \\cdot ';
      i++;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Index of the `)` closing the `(` at `open`, or -1. */
function matchingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') {
      if (--depth === 0) return c === ')' ? i : -1;
    }
  }
  return -1;
}

/** Arguments of a call at nesting depth 0, or null when brackets do not balance. */
function splitArgs(s: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) return null;
  }
  parts.push(s.slice(start));
  return depth === 0 ? parts : null;
}
