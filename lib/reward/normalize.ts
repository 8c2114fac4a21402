// Normalisation of an answer string before comparison: Python syntax (python.ts), math
// delimiters, \left/\right, spacing commands, \dfrac, \choose, \approx, degrees, dollars,
// units and \text{} are removed or rewritten so that equal answers written differently meet. The result is still LaTeX (spaces kept,
// single) so that the structural and symbolic layers can read it.

import { openingBrace } from './latex.js';
import { fromPython } from './python.js';

const UNICODE: Record<string, string> = {
  '\u2212': '-',
  '\u2013': '-',
  π: '\\pi ',
  '√': '\\sqrt',
  '∞': '\\infty ',
  '×': '\\times ',
  '·': '\\cdot ',
  '°': '^\\circ',
  '≤': '\\le ',
  '≥': '\\ge ',
  '≠': '\\ne ',
  '±': '\\pm ',
  '≈': '\\approx ',
  ℝ: '\\mathbb{R}',
};

/** Commands whose argument is kept and the command dropped (\text{east} → east). */
const UNWRAPPED = new Set([
  'text', 'textbf', 'textit', 'textrm', 'textnormal', 'textsf', 'texttt', 'textup', 'emph', 'mbox', 'hbox',
  'mathrm', 'mathbf', 'mathit', 'mathsf', 'mathtt', 'mathnormal', 'boxed', 'fbox',
]);

/** Text commands that, at the end of an answer after a number, hold its unit. */
const UNIT_TEXT = /\\(?:text|textrm|textnormal|textup|mbox|hbox|mathrm)\s*$/;

/** Unit words dropped after a number ("12 inches", "5 dollars"); 'percent' becomes %. */
const UNIT_WORDS = new Set(
  (
    'cm mm km meter meters metre metres centimeter centimeters kilometer kilometers inch inches foot feet ft ' +
    'yard yards yd mile miles mph kph unit units square sq cubic degree degrees deg radian radians rad dollar dollars ' +
    'cent cents second seconds sec minute minutes min hour hours hr hrs day days week weeks month months year years ' +
    'gram grams kg lb lbs pound pounds ounce ounces oz liter liters litre litres ml gallon gallons people students ' +
    'ways points marbles apples coins cups pages hats per mph kmh m/s km/h'
  ).split(' '),
);

/**
 * `input` normalised for comparison (see the module comment). Linear in the input length.
 */
export function normalizeAnswer(input: string): string {
  let s = fromPython(stripDelimiters(input.trim()));
  s = s.replace(/[\u2212\u2013π√∞×·°≤≥≠±≈ℝ]/g, (c) => UNICODE[c]!);
  s = withoutApprox(s);
  // {n \choose k} is \binom{n}{k}.
  s = s.replace(/\{([^{}]*)\\choose(?![a-zA-Z])([^{}]*)\}/g, '\\binom{$1}{$2}');
  // LaTeX thousands separators between digit groups: 10,\!080, 10{,}080, 10\,080.
  s = s.replace(/(\d)\s*(?:,\\!|\{,\}|\\,)\s*(?=\d{3}(?!\d))/g, '$1,');
  s = s.replace(/\\(?:left|right|[bB]igg?[lr]?)(?![a-zA-Z])\s*\.?/g, '');
  s = s.replace(/\\[dtc]frac(?![a-zA-Z])/g, '\\frac').replace(/\\[dt]binom(?![a-zA-Z])/g, '\\binom');
  s = s.replace(/\\(?:displaystyle|textstyle|scriptstyle|hline)(?![a-zA-Z])/g, '');
  // Degree marks go, except in trigonometry, where the symbolic layer reads 45^\circ as π/4.
  if (!/\\(?:sin|cos|tan|cot|sec|csc)(?![a-zA-Z])/.test(s)) {
    s = s.replace(/\^\s*\{\s*\\circ\s*\}|\^\s*\\circ(?![a-zA-Z])|\\degree(?![a-zA-Z])/g, '');
  }
  s = s.replace(/\\[lr]?vert(?![a-zA-Z])|\\mid(?![a-zA-Z])/g, '|');
  s = s.replace(/\\varnothing(?![a-zA-Z])|\\\{\s*\\\}/g, '\\emptyset');
  // The real line: \mathbb{R}, \R, "all real numbers".
  s = s.replace(/\\mathbb\s*\{\s*R\s*\}|\\mathbb\s*R(?![a-zA-Z])|\\R(?![a-zA-Z])|\\text\{\s*all real numbers\s*\}|^all real numbers$/g, '(-\\infty, \\infty)');
  s = s.replace(/\\%/g, '%').replace(/\\?\$/g, '');
  s = s.replace(/\\\\|\\[!,;: ]|\\q?quad(?![a-zA-Z])|~/g, (m) => (m === '\\\\' ? m : ' ')); // keeps \\ (row breaks)
  s = stripUnits(s);
  if (s.includes('\\')) s = unwrapCommands(s);
  s = s.replace(/\s+/g, ' ').trim().replace(/\s*\.$/, '');
  // Canonical spellings of common short forms, so that they meet without the symbolic layer.
  s = s
    .replace(/\\sqrt\s*([0-9a-zA-Z])/g, '\\sqrt{$1}')
    .replace(/\\frac\s*(\d)\s*(\d)/g, '\\frac{$1}{$2}')
    .replace(/([\^_])\{(\w)\}/g, '$1$2')
    .replace(/\+\s*\\infty/g, '\\infty');
  return s;
}

const APPROX = /\\approx(?![a-zA-Z])/;

/**
 * "≈ 11" is 11 and "x ≈ 11" is x = 11 (the value written is graded); but where an exact
 * value comes first ("\frac{1}{3} ≈ 0.333", "x = \frac{1}{3} ≈ 0.333") the rounding after
 * it is dropped.
 */
function withoutApprox(s: string): string {
  const at = s.search(APPROX);
  if (at < 0) return s;
  const before = s.slice(0, at).trim();
  if (before === '') return s.slice(at + '\\approx'.length).trim();
  const constant = !/[a-df-hj-zA-Z]/.test(before.replace(/\\[a-zA-Z]+/g, ''));
  if (constant || before.includes('=')) return before;
  return s.replace(new RegExp(APPROX.source, 'g'), '=');
}

/** `s` without spaces, except between digits ("1 2" is not 12): the key for exact comparison. */
export function compact(s: string): string {
  return s.replace(/ (?!\d)|(?<!\d) /g, '');
}

/** Removes enclosing $…$, $$…$$, \(…\) and \[…\]. */
function stripDelimiters(s: string): string {
  for (const [open, close] of [['$$', '$$'], ['$', '$'], ['\\(', '\\)'], ['\\[', '\\]']] as const) {
    if (s.length >= open.length + close.length && s.startsWith(open) && s.endsWith(close)) {
      return s.slice(open.length, s.length - close.length).trim();
    }
  }
  return s;
}

/**
 * Drops a unit after a number: a trailing \text{…} (optionally squared or cubed) whose
 * content is words, or trailing unit words; "percent" becomes %.
 */
function stripUnits(s: string): string {
  for (let round = 0; round < 3; round++) {
    const t = s.trimEnd();
    const power = /\^\{?[23]\}?$/.exec(t);
    const end = power ? power.index : t.length;
    let head: string | null = null;
    let unit = '';
    if (t[end - 1] === '}') {
      const open = openingBrace(t, end - 1);
      const command = open > 0 ? UNIT_TEXT.exec(t.slice(0, open)) : null;
      unit = open > 0 ? t.slice(open + 1, end - 1) : '';
      // One letter with no space before it is a symbol (2\mathrm{i}, 3\text{e}), not a unit.
      const symbol = /^[A-Za-z]$/.test(unit);
      if (command && !symbol && /^[\sA-Za-z./]*[A-Za-z][\sA-Za-z./]*$/.test(unit)) head = t.slice(0, command.index);
    } else {
      let i = end;
      for (;;) {
        let j = i;
        while (j > 0 && t[j - 1] === ' ') j--;
        let k = j;
        while (k > 0 && /[A-Za-z/]/.test(t[k - 1]!)) k--;
        const word = t.slice(k, j).toLowerCase();
        if (k === j || t[k - 1] === '\\' || !(UNIT_WORDS.has(word) || word === 'percent')) break;
        i = k;
      }
      unit = t.slice(i, end);
      if (i < end) head = t.slice(0, i);
    }
    if (head === null || !/\d/.test(head) || head.trim() === '') return s;
    s = /\bpercent\b/i.test(unit) ? `${head.trimEnd()}%` : head;
  }
  return s;
}

/** Replaces \text{…}, \mathrm{…}, \boxed{…} etc. by their content, in one pass. */
function unwrapCommands(s: string): string {
  let out = '';
  const dropClose: boolean[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const m = /^\\([a-zA-Z]+)\s*\{/.exec(s.slice(i, i + 24));
      if (m && UNWRAPPED.has(m[1]!)) {
        dropClose.push(true);
        i += m[0].length - 1;
        continue;
      }
      out += c + (s[i + 1] ?? '');
      i++;
    } else if (c === '{') {
      dropClose.push(false);
      out += c;
    } else if (c === '}') {
      if (!dropClose.pop()) out += c;
    } else out += c;
  }
  return out;
}
