// The shape of a normalised answer: a single expression, or a container of answers
// (tuple/interval, set or unordered list, union of intervals, matrix, equation, ±).
// Inequalities in one unknown are read as the intervals of their solutions, named and
// chained equations as their values, Python lists and nested lists as sequences and
// matrices.
// Containers are compared by our own layer; only single expressions reach the numeric and
// symbolic comparison.

import { splitTopLevel, wrapsWhole } from './latex.js';
import { parseNumber, rational, type Rational } from './rational.js';

export type AnswerNode =
  | { kind: 'scalar'; text: string }
  /**
   * (a, b), [a, b), \langle a, b \rangle: order matters and the brackets must agree.
   * `interval`: read from an inequality (then `variable` is its unknown). `seq`: a Python
   * list [a, b, c] (three or more items), ordered against a tuple, order-free against a set.
   */
  | { kind: 'ordered'; open: string; close: string; items: AnswerNode[]; interval?: boolean; seq?: boolean; variable?: string }
  /** \{a, b\} (set), bare "a, b" (list) or the two values of a ± b (pm): order does not matter. */
  | { kind: 'unordered'; form: 'set' | 'list' | 'pm'; items: AnswerNode[] }
  /** I₁ ∪ I₂ ∪ …, order does not matter (`variable`: the unknown of "x < 1 or x > 2"). */
  | { kind: 'union'; items: AnswerNode[]; variable?: string }
  | { kind: 'matrix'; rows: AnswerNode[][] }
  | { kind: 'equation'; lhs: string; rhs: AnswerNode };

/** Containers nested deeper than this, or longer than MAX_ITEMS, are compared as text. */
const MAX_DEPTH = 6;
const MAX_ITEMS = 64;

/** Matrix environments (vmatrix is a determinant, a number: not here). */
const MATRIX = /^\\begin\{(pmatrix|bmatrix|Bmatrix|smallmatrix|matrix|array)\}([\s\S]*)\\end\{\1\}$/;
/** A matrix environment inside brackets: \left[ \begin{array}…\end{array} \right] after normalisation. */
const BRACKETED_MATRIX = /^[[(]\s*(\\begin\{(?:matrix|array)\}[\s\S]*\\end\{(?:matrix|array)\})\s*[\])]$/;

/** Reads the structure of a normalised answer (see {@link AnswerNode}). Never throws. */
export function parseAnswer(text: string, depth = 0): AnswerNode {
  let s = text.trim().replace(/^[a-zA-Z]\s*\\in(?![a-zA-Z])\s*/, '');
  const scalar: AnswerNode = { kind: 'scalar', text: s };
  if (depth > MAX_DEPTH) return scalar;
  const inner = (part: string) => parseAnswer(part, depth + 1);

  const bracketedMatrix = BRACKETED_MATRIX.exec(s);
  if (bracketedMatrix) s = bracketedMatrix[1]!;
  const matrix = MATRIX.exec(s);
  if (matrix) {
    const body = matrix[1] === 'array' ? matrix[2]!.replace(/^\s*\{[^{}]*\}/, '') : matrix[2]!;
    const rows = (splitTopLevel(body, '\\\\') ?? []).filter((row) => row.trim() !== '');
    const cells = rows.map((row) => splitTopLevel(row, '&'));
    if (cells.length > 0 && cells.length <= MAX_ITEMS && cells.every((r) => r !== null && r.length <= MAX_ITEMS)) {
      return { kind: 'matrix', rows: cells.map((r) => r!.map(inner)) };
    }
    return { kind: 'scalar', text: s };
  }

  // Lists: "a; b" (semicolons first, so "(1,2); (3,4)" keeps its points), "a, b", "a or b".
  const semicolons = splitTopLevel(s, ';');
  // "2, 3, and 5": a joining word before the last item belongs to no item.
  const list = (semicolons && semicolons.length > 1 ? semicolons : (splitTopLevel(s, ',') ?? [s])).map((p, i, all) =>
    i > 0 && all.length > 1 ? p.replace(/^\s*(?:and|or)\s+/, '') : p,
  );
  const split = list.length === 1 ? s.split(/\s+(or|and)\s+/) : [];
  const alternatives = split.filter((_, i) => i % 2 === 0);
  const joiners = new Set(split.filter((_, i) => i % 2 === 1));
  const parts = alternatives.length > 1 && alternatives.every((p) => /\d/.test(p)) ? alternatives : list;
  if (parts.length > 1) {
    if (parts.length > MAX_ITEMS) return scalar;
    const items = parts.flatMap(plusMinus).map(inner);
    if (parts === alternatives && items.every(isInterval)) {
      // "x < 2 or x > 3" is a union; "x > 2 and x < 3" an intersection, which we do not compute.
      const variable = sameVariable(items);
      return joiners.size === 1 && joiners.has('or') && variable !== null ? { kind: 'union', items, variable } : scalar;
    }
    return { kind: 'unordered', form: 'list', items };
  }

  const union = splitTopLevel(s, '\\cup');
  if (union && union.length > 1) {
    if (union.length > MAX_ITEMS) return scalar;
    const items = union.map(inner);
    // A union of literal sets is the set of their elements.
    if (items.every((n) => n.kind === 'unordered' && n.form === 'set')) {
      return { kind: 'unordered', form: 'set', items: items.flatMap((n) => (n.kind === 'unordered' ? n.items : [])) };
    }
    return { kind: 'union', items };
  }

  const inequality = parseInequality(s);
  if (inequality) return inequality;

  const sides = splitTopLevel(s, '=');
  if (sides && sides.length >= 2 && sides.every((side) => side.trim() !== '')) {
    const [first, last] = [sides[0]!.trim(), sides[sides.length - 1]!.trim()];
    // x = 2 + 3 = 5 is x = 5 (the last side); 0.56 = 56% (no unknowns) is its last side.
    if (sides.length === 2 && !isNamed(first) && (hasUnknowns(first) || hasUnknowns(last))) {
      return { kind: 'equation', lhs: first, rhs: inner(last) };
    }
    if (isNamed(first)) return { kind: 'equation', lhs: first, rhs: inner(last) };
    if (sides.every((side) => !hasUnknowns(side))) return inner(last);
    return scalar;
  }

  if (s.startsWith('\\{') && s.endsWith('\\}') && wrapsWhole(s)) {
    const items = splitTopLevel(s.slice(2, -2), ',');
    if (items && items.length <= MAX_ITEMS) {
      return { kind: 'unordered', form: 'set', items: items.filter((p) => p.trim() !== '').flatMap(plusMinus).map(inner) };
    }
    return scalar;
  }

  const angled = /^\\langle(?![a-zA-Z])([\s\S]*)\\rangle$/.exec(s);
  const bracketed = /^[([][\s\S]*[)\]]$/.test(s) && wrapsWhole(s);
  if (angled || bracketed) {
    const body = angled ? angled[1]! : s.slice(1, -1);
    const items = splitTopLevel(body, ',');
    const square = !angled && s[0] === '[' && s.endsWith(']');
    if (square && items && items.length <= MAX_ITEMS) {
      // [[1, 2], [3, 4]]: a matrix as nested lists (Python, SymPy's Matrix).
      const rows = items.map((item) => item.trim()).map((item) => (/^\[[\s\S]*\]$/.test(item) && wrapsWhole(item) ? splitTopLevel(item.slice(1, -1), ',') : null));
      if (rows.every((row) => row !== null && row.length === rows[0]!.length && row.length <= MAX_ITEMS)) {
        return { kind: 'matrix', rows: rows.map((row) => row!.map(inner)) };
      }
      if (items.length >= 3) return { kind: 'ordered', open: '(', close: ')', items: items.map(inner), seq: true };
    }
    if (items && items.length > 1 && items.length <= MAX_ITEMS) {
      const [open, close] = angled ? ['(', ')'] : [s[0]!, s[s.length - 1]!];
      return { kind: 'ordered', open, close, items: items.map(inner) };
    }
    if (items && items.length === 1 && s[0] === '(' && s.endsWith(')')) return inner(body);
  }

  const pm = plusMinus(s);
  if (pm.length > 1) return { kind: 'unordered', form: 'pm', items: pm.map(inner) };
  return scalar;
}

function isInterval(node: AnswerNode): boolean {
  return node.kind === 'ordered' && node.interval === true;
}

/** The one unknown of inequality-read intervals, or null when they name different ones. */
function sameVariable(items: AnswerNode[]): string | null {
  const names = new Set(items.map((n) => (n.kind === 'ordered' ? n.variable : undefined)));
  return names.size === 1 ? ([...names][0] ?? null) : null;
}

// ---- inequalities: a < x, x ≥ b, a ≤ x < b, -x > -1, 2x > 6, read as intervals ----

const RELATION = /\\(?:leqslant|geqslant|leq|geq|le|ge|lt|gt)(?![a-zA-Z])|<=|>=|<|>/g;

interface Relation {
  less: boolean;
  strict: boolean;
}

function relation(op: string): Relation {
  const less = op.startsWith('<') || /^\\l/.test(op);
  const strict = op === '<' || op === '>' || op === '\\lt' || op === '\\gt';
  return { less, strict };
}

/** `k·x` with k a plain number (1 when absent): the unknown and its coefficient. */
function linearTerm(side: string): { variable: string; coefficient: Rational } | null {
  const m = /^([+-]?)\s*(\d+(?:\.\d+)?|\\frac\{\d+\}\{\d+\})?\s*([a-zA-Z])$/.exec(side.trim());
  if (!m) return null;
  const k = m[2] ? parseNumber(m[2])?.value : { num: 1n, den: 1n };
  if (!k || k.num === 0n) return null;
  return { variable: m[3]!, coefficient: m[1] === '-' ? { num: -k.num, den: k.den } : k };
}

function renderRational(q: Rational): string {
  if (q.den === 1n) return q.num.toString();
  const sign = q.num < 0n ? '-' : '';
  return `${sign}\\frac{${q.num < 0n ? -q.num : q.num}}{${q.den}}`;
}

/** `bound / k` as text: exact for plain numbers, else left for the comparison to read. */
function divide(bound: string, k: Rational): string {
  if (k.num === k.den) return bound;
  const n = parseNumber(bound);
  if (n && !n.percent) return renderRational(rational(n.value.num * k.den, n.value.den * k.num)!);
  if (k.num === -k.den) return `-(${bound})`;
  return `\\frac{${bound}}{${renderRational(k)}}`;
}

/**
 * An inequality in one unknown with constant bounds, as the interval of its solutions
 * (`interval: true`, with the unknown); null when `s` is not one.
 */
function parseInequality(s: string): AnswerNode | null {
  const ops = s.match(RELATION);
  if (!ops || ops.length > 2) return null;
  const sides = s.split(RELATION).map((p) => p.trim());
  if (sides.some((p) => p === '' || /[=,]/.test(p))) return null;
  const rels = ops.map(relation);
  const constant = (p: string) => !hasUnknowns(p) && !/\\infty/.test(p);
  let lower: { bound: string; strict: boolean } | null = null;
  let upper: { bound: string; strict: boolean } | null = null;
  let term: ReturnType<typeof linearTerm>;
  if (ops.length === 1) {
    const [left, right] = sides as [string, string];
    const rel = rels[0]!;
    const lt = linearTerm(left);
    const rt = lt ? null : linearTerm(right);
    term = lt ?? rt;
    const bound = lt ? right : left;
    if (!term || !constant(bound)) return null;
    // k·x < b, or b < k·x (that is, k·x > b).
    const termIsLess = lt ? rel.less : !rel.less;
    if (termIsLess) upper = { bound, strict: rel.strict };
    else lower = { bound, strict: rel.strict };
  } else {
    const [a, middle, b] = sides as [string, string, string];
    if (rels[0]!.less !== rels[1]!.less) return null;
    term = linearTerm(middle);
    if (!term || !constant(a) || !constant(b)) return null;
    // a < k·x < b, or a > k·x > b.
    const [lo, hi] = rels[0]!.less ? [{ bound: a, strict: rels[0]!.strict }, { bound: b, strict: rels[1]!.strict }] : [{ bound: b, strict: rels[1]!.strict }, { bound: a, strict: rels[0]!.strict }];
    [lower, upper] = [lo, hi];
  }
  const k = term.coefficient;
  if (k.num < 0n) [lower, upper] = [upper, lower];
  const low = lower ? { text: divide(lower.bound, k), strict: lower.strict } : { text: '-\\infty', strict: true };
  const high = upper ? { text: divide(upper.bound, k), strict: upper.strict } : { text: '\\infty', strict: true };
  return {
    kind: 'ordered',
    open: low.strict ? '(' : '[',
    close: high.strict ? ')' : ']',
    items: [
      { kind: 'scalar', text: low.text },
      { kind: 'scalar', text: high.text },
    ],
    interval: true,
    variable: term.variable,
  };
}

/** Whether `s` has a letter outside commands that is not e or i (so a free variable). */
export function hasUnknowns(s: string): boolean {
  return /[a-df-hj-zA-Z]/.test(s.replace(/\\[a-zA-Z]+/g, ''));
}

/** The values of an expression with ± / ∓: every \pm taken as + (\mp as −), then the reverse. */
function plusMinus(s: string): string[] {
  if (!/\\(?:pm|mp)(?![a-zA-Z])/.test(s)) return [s];
  const take = (pm: string, mp: string) => s.replace(/\\(pm|mp)(?![a-zA-Z])/g, (_, op: string) => (op === 'pm' ? pm : mp));
  return [take('+', '-'), take('-', '+')];
}

const VARIABLE = /^(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?(?:\([a-zA-Z]\))?$/;

/** Whether an equation's left side names a single unknown (x, x_1, \theta, f(x)). */
export function isVariable(lhs: string): boolean {
  return VARIABLE.test(lhs.replace(/ /g, ''));
}

/** Whether an equation's left side names its value: an unknown, or a tuple of unknowns ((p, q)). */
export function isNamed(lhs: string): boolean {
  const t = lhs.replace(/ /g, '');
  if (VARIABLE.test(t)) return true;
  if (!/^\([\s\S]*\)$/.test(t) || !wrapsWhole(t)) return false;
  const names = splitTopLevel(t.slice(1, -1), ',');
  return names !== null && names.length > 1 && names.every((n) => VARIABLE.test(n));
}
