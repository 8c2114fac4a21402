// The shape of a normalised answer: a single expression, or a container of answers
// (tuple/interval, set or unordered list, union of intervals, matrix, equation, ±).
// Containers are compared by our own layer; only single expressions reach the numeric and
// symbolic comparison.

import { splitTopLevel, wrapsWhole } from './latex.js';

export type AnswerNode =
  | { kind: 'scalar'; text: string }
  /** (a, b), [a, b), \langle a, b \rangle: order matters and the brackets must agree. */
  | { kind: 'ordered'; open: string; close: string; items: AnswerNode[] }
  /** \{a, b\} (set), bare "a, b" (list) or the two values of a ± b (pm): order does not matter. */
  | { kind: 'unordered'; form: 'set' | 'list' | 'pm'; items: AnswerNode[] }
  /** I₁ ∪ I₂ ∪ …, order does not matter. */
  | { kind: 'union'; items: AnswerNode[] }
  | { kind: 'matrix'; rows: AnswerNode[][] }
  | { kind: 'equation'; lhs: string; rhs: AnswerNode };

/** Containers nested deeper than this, or longer than MAX_ITEMS, are compared as text. */
const MAX_DEPTH = 6;
const MAX_ITEMS = 64;

const MATRIX = /^\\begin\{(pmatrix|bmatrix|Bmatrix|vmatrix|Vmatrix|smallmatrix|matrix|array)\}([\s\S]*)\\end\{\1\}$/;

/** Reads the structure of a normalised answer (see {@link AnswerNode}). Never throws. */
export function parseAnswer(text: string, depth = 0): AnswerNode {
  const s = text.trim().replace(/^[a-zA-Z]\s*\\in(?![a-zA-Z])\s*/, '');
  const scalar: AnswerNode = { kind: 'scalar', text: s };
  if (depth > MAX_DEPTH) return scalar;
  const inner = (part: string) => parseAnswer(part, depth + 1);

  const matrix = MATRIX.exec(s);
  if (matrix) {
    const body = matrix[1] === 'array' ? matrix[2]!.replace(/^\s*\{[^{}]*\}/, '') : matrix[2]!;
    const rows = (splitTopLevel(body, '\\\\') ?? []).filter((row) => row.trim() !== '');
    const cells = rows.map((row) => splitTopLevel(row, '&'));
    if (cells.length > 0 && cells.length <= MAX_ITEMS && cells.every((r) => r !== null && r.length <= MAX_ITEMS)) {
      return { kind: 'matrix', rows: cells.map((r) => r!.map(inner)) };
    }
    return scalar;
  }

  const list = splitTopLevel(s, ',') ?? [s];
  const alternatives = list.length === 1 ? s.split(/\s+(?:or|and)\s+/) : [];
  const parts = alternatives.length > 1 && alternatives.every((p) => /\d/.test(p)) ? alternatives : list;
  if (parts.length > 1) {
    return parts.length > MAX_ITEMS ? scalar : { kind: 'unordered', form: 'list', items: parts.flatMap(plusMinus).map(inner) };
  }

  const union = splitTopLevel(s, '\\cup');
  if (union && union.length > 1) {
    return union.length > MAX_ITEMS ? scalar : { kind: 'union', items: union.map(inner) };
  }

  const equation = splitTopLevel(s, '=');
  if (equation && equation.length === 2 && equation[0]!.trim() !== '' && equation[1]!.trim() !== '') {
    return { kind: 'equation', lhs: equation[0]!.trim(), rhs: inner(equation[1]!) };
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

/** The values of an expression with ± / ∓: every \pm taken as + (\mp as −), then the reverse. */
function plusMinus(s: string): string[] {
  if (!/\\(?:pm|mp)(?![a-zA-Z])/.test(s)) return [s];
  const take = (pm: string, mp: string) => s.replace(/\\(pm|mp)(?![a-zA-Z])/g, (_, op: string) => (op === 'pm' ? pm : mp));
  return [take('+', '-'), take('-', '+')];
}

/** Whether an equation's left side names a single unknown (x, x_1, \theta, f(x)). */
export function isVariable(lhs: string): boolean {
  return /^(?:[a-zA-Z]|\\[a-zA-Z]+)(?:_\{?\w+\}?)?(?:\([a-zA-Z]\))?$/.test(lhs.replace(/ /g, ''));
}
