// Linear-time scanning helpers over LaTeX text: brace matching and splitting at the top
// level. None of them recurses, so 10,000 nested braces cost the same as 10,000 letters.

/**
 * Index of the `}` that closes the `{` at `open`, or -1 when it is never closed.
 * Escaped braces (`\{`, `\}`) do not count.
 */
export function closingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  return -1;
}

/** Index of the `{` that opens the group closed by the `}` at `close`, or -1. */
export function openingBrace(s: string, close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    const c = s[i];
    if (i > 0 && s[i - 1] === '\\' && (c === '{' || c === '}')) {
      i--;
      continue;
    }
    if (c === '}') depth++;
    else if (c === '{' && --depth === 0) return i;
  }
  return -1;
}

/** A separator recognised at nesting depth 0 by {@link splitTopLevel}. */
export type Separator = ',' | ';' | '&' | '\\\\' | '=' | '\\cup';

/**
 * Splits `s` at every `sep` that is outside all brackets: `{}`, `()`, `[]` and `\{\}` all
 * nest (mixed pairs such as `(3,4]` count as one level). Returns null when the brackets
 * do not balance, so that callers treat the text as a single opaque expression.
 */
export function splitTopLevel(s: string, sep: Separator): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const next = s[i + 1] ?? '';
      if (isLetter(next)) {
        let j = i + 1;
        while (j < s.length && isLetter(s[j]!)) j++;
        const name = s.slice(i + 1, j);
        if (name === 'langle') depth++;
        else if (name === 'rangle') depth--;
        else if (name === 'cup' && sep === '\\cup' && depth === 0) {
          parts.push(s.slice(start, i));
          start = j;
        }
        i = j - 1;
        continue;
      }
      if (next === '{') depth++;
      else if (next === '}') depth--;
      else if (next === '\\' && sep === '\\\\' && depth === 0) {
        parts.push(s.slice(start, i));
        start = i + 2;
      }
      i++;
    } else if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') depth--;
    else if (depth === 0 && c === sep && (sep !== '=' || !/[<>!]/.test(s[i - 1] ?? ''))) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
    if (depth < 0) return null;
  }
  if (depth !== 0) return null;
  parts.push(s.slice(start));
  return parts;
}

function isLetter(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/**
 * Whether the bracket opening at index 0 of `s` is closed by the last character, so that
 * the whole of `s` is one bracketed group (`(1,2)` yes, `(1)(2)` no). Any of `( [` may be
 * closed by any of `) ]`, which is what intervals need.
 */
export function wrapsWhole(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const next = s[i + 1];
      i++;
      if (next === '{') depth++;
      else if (next === '}' && --depth === 0) return i === s.length - 1;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i === s.length - 1;
    }
    if (depth < 0) return false;
  }
  return false;
}
