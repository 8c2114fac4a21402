// Finding the final answer in a model response: the last \boxed{…} / \fbox{…} / `\boxed 5`,
// with optional fallbacks. Every step is a linear scan, so a 1 MB response or 10,000
// nested braces cost milliseconds.

import { closingBrace } from './latex.js';

/** A fallback tried, in the order given, when the response has no box. */
export type ExtractFallback = 'answer-is' | 'last-number';

export interface ExtractOptions {
  /**
   * Fallbacks used when there is no \boxed{} (default none: ToRL rewards only boxed
   * answers). 'answer-is': the text after the last "the answer is"; 'last-number': the
   * last number in the response.
   */
  fallbacks?: readonly ExtractFallback[];
  /**
   * Whether text inside tool-output blocks counts (default false: only the model's own
   * text is graded, so a box printed by the interpreter is not the model's answer).
   */
  includeToolOutputs?: boolean;
  /** The line that opens a tool-output block, closed by the next ``` (default "```output"). */
  toolOutputFence?: string;
}

const BOX_COMMANDS = ['\\boxed', '\\fbox'];

/**
 * The final answer of `text`: the content of its last \boxed{…} (or \fbox{…}, or the token
 * after `\boxed `), else what the enabled fallbacks find, else null. An unclosed or empty
 * box gives null.
 */
export function extractAnswer(text: string, options: ExtractOptions = {}): string | null {
  const own = options.includeToolOutputs ? text : withoutToolOutputs(text, options.toolOutputFence ?? '```output');
  const boxed = lastBoxed(own);
  if (boxed !== undefined) return boxed;
  for (const fallback of options.fallbacks ?? []) {
    const found = fallback === 'answer-is' ? afterAnswerIs(own) : lastNumber(own);
    if (found) return found;
  }
  return null;
}

interface Block {
  /** Index of the fence. */
  open: number;
  /** Index of the closing ``` (text.length when the block is never closed). */
  close: number;
}

/** The tool-output blocks of `text`: from each fence to the next ```. */
function* toolBlocks(text: string, fence: string): Generator<Block> {
  let from = 0;
  for (let open = text.indexOf(fence); open >= 0; open = text.indexOf(fence, from)) {
    const end = text.indexOf('```', open + fence.length);
    const close = end < 0 ? text.length : end;
    yield { open, close };
    from = close + 3;
  }
}

/** `text` with every tool-output block (fence through the closing ```) removed. */
function withoutToolOutputs(text: string, fence: string): string {
  let out = '';
  let from = 0;
  for (const { open, close } of toolBlocks(text, fence)) {
    out += text.slice(from, open);
    from = close + 3;
  }
  return out + text.slice(from);
}

/** The text of every tool-output block in `text`, in order. */
export function toolOutputs(text: string, fence: string): string[] {
  return [...toolBlocks(text, fence)].map(({ open, close }) => text.slice(open + fence.length, close));
}

/**
 * Content of the last box command; undefined when there is none, null when the last one
 * is unclosed or empty.
 */
function lastBoxed(text: string): string | null | undefined {
  let at = -1;
  let command = '';
  for (const c of BOX_COMMANDS) {
    let i = text.lastIndexOf(c);
    // `\boxedx` is another command: step back over such false hits.
    while (i >= 0 && /[a-zA-Z]/.test(text[i + c.length] ?? '')) i = i === 0 ? -1 : text.lastIndexOf(c, i - 1);
    if (i > at) [at, command] = [i, c];
  }
  if (at < 0) return undefined;
  let i = at + command.length;
  while (text[i] === ' ' || text[i] === '\t') i++;
  let content: string;
  if (text[i] === '{') {
    const close = closingBrace(text, i);
    if (close < 0) return null;
    content = text.slice(i + 1, close);
  } else {
    const m = /^[^\s$]+/.exec(text.slice(i, i + 200));
    content = m ? m[0].replace(/[.,;]+$/, '') : '';
  }
  content = content.trim();
  return content === '' ? null : content;
}

/** The rest of the line after the last "answer is", without $ and a final full stop. */
function afterAnswerIs(text: string): string | null {
  const at = text.toLowerCase().lastIndexOf('answer is');
  if (at < 0) return null;
  const end = text.indexOf('\n', at);
  const line = text.slice(at + 'answer is'.length, end < 0 ? undefined : end);
  const answer = line
    .replace(/^[\s:]+/, '')
    .replace(/\$/g, '')
    .replace(/\.\s*$/, '')
    .trim();
  return answer === '' ? null : answer;
}

/** The last number (integer, decimal, a/b, with sign and thousands commas) in `text`. */
function lastNumber(text: string): string | null {
  let last: string | null = null;
  for (const m of text.matchAll(/-?\d+(?:,\d{3})*(?:\.\d+)?(?:\/\d+)?/g)) last = m[0];
  return last;
}
