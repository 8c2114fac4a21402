// Finding the final answer in a model response: the last \boxed{…} / \fbox{…} / `\boxed 5`,
// with optional fallbacks. Every step is a linear scan, so a 1 MB response or 10,000
// nested braces cost milliseconds.

import { expectString } from './check.js';
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
  /**
   * Whether text inside code blocks counts (default false: a box in a comment or string
   * literal of the model's code is not its answer). A code block is any other ``` fence
   * (```python, ```py, a bare ```…), closed by the next ```, or running to the end of the
   * text when never closed.
   */
  includeCode?: boolean;
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
  expectString('extractAnswer', 'text', text);
  const own = proseOf(text, options);
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
  /** A tool-output block (opened by the output fence), else a code block. */
  output: boolean;
}

/**
 * The fenced blocks of `text`, in order: from each fence to the next ```. A fence that
 * starts with `outputFence` opens a tool-output block; any other ``` opens a code block.
 * One forward scan: each search starts where the last block ended.
 */
function* fencedBlocks(text: string, outputFence: string): Generator<Block> {
  const custom = !outputFence.startsWith('```');
  let from = 0;
  let nextOutput = custom ? text.indexOf(outputFence) : -1;
  while (from < text.length) {
    const nextTicks = text.indexOf('```', from);
    if (custom && nextOutput >= 0 && nextOutput < from) nextOutput = text.indexOf(outputFence, from);
    let open: number;
    let output: boolean;
    let body: number;
    if (custom && nextOutput >= 0 && (nextTicks < 0 || nextOutput < nextTicks)) {
      [open, output, body] = [nextOutput, true, nextOutput + outputFence.length];
    } else if (nextTicks >= 0) {
      output = !custom && text.startsWith(outputFence, nextTicks);
      [open, body] = [nextTicks, nextTicks + (output ? outputFence.length : 3)];
    } else return;
    const end = text.indexOf('```', body);
    const close = end < 0 ? text.length : end;
    yield { open, close, output };
    from = close + 3;
  }
}

/** The model's own text: `text` without the blocks that do not count under `options`. */
function proseOf(text: string, options: ExtractOptions): string {
  if (options.includeToolOutputs && options.includeCode) return text;
  let out = '';
  let from = 0;
  for (const block of fencedBlocks(text, options.toolOutputFence ?? '```output')) {
    if (block.output ? options.includeToolOutputs : options.includeCode) continue;
    out += text.slice(from, block.open);
    from = Math.min(text.length, block.close + 3);
  }
  return from === 0 ? text : out + text.slice(from);
}

/** The text of every tool-output block in `text`, in order. */
export function toolOutputs(text: string, fence: string): string[] {
  const blocks = [...fencedBlocks(text, fence)].filter((b) => b.output);
  return blocks.map(({ open, close }) => text.slice(open + (text.startsWith(fence, open) ? fence.length : 0), close));
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
