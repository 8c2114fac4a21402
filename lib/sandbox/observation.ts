// ToRL-style observation text: what the model reads back after its code block ran.
import type { RunResult } from './types.js';

export interface ObservationOptions {
  /** Longest observation in characters (code points); longer text keeps its head and
   *  tail around `omission`. Default 512. */
  maxChars?: number;
  /** Shown when a successful run printed nothing. */
  noOutput?: string;
  /** Put between head and tail of truncated text. Default '\n...\n'. */
  omission?: string;
}

const DEFAULT_NO_OUTPUT = '(no output: use print() to see values)';

/** Formats a run the way ToRL feeds it back: on success its stdout; on failure the
 *  last line of the traceback (e.g. "ZeroDivisionError: division by zero"); an empty
 *  success gets a clear marker; the text is cut to `maxChars` keeping head and tail. */
export function formatObservation(result: RunResult, options: ObservationOptions = {}): string {
  const maxChars = options.maxChars ?? 512;
  if (!Number.isInteger(maxChars) || maxChars < 1) throw new RangeError(`formatObservation: "maxChars" must be a positive integer, got ${maxChars}`);
  return truncateMiddle(observationText(result, options.noOutput ?? DEFAULT_NO_OUTPUT), maxChars, options.omission ?? '\n...\n');
}

function observationText(r: RunResult, noOutput: string): string {
  const lastErr = lastLine(r.stderr);
  switch (r.status) {
    case 'ok':
      return r.stdout.trimEnd() === '' ? noOutput : r.stdout.trimEnd();
    case 'error':
      return lastErr ?? `Process exited with code ${r.returnCode}`;
    case 'oom':
      return lastErr ?? 'MemoryError';
    case 'timeout':
      return 'TimeoutError: execution timed out';
    case 'killed':
      return `Process killed by signal ${-(r.returnCode ?? 0)}`;
    case 'crashed':
      return r.returnCode !== null && r.returnCode < 0 ? `Process crashed (signal ${-r.returnCode})` : `Sandbox error: ${lastErr ?? 'the run did not complete'}`;
  }
}

function lastLine(text: string): string | null {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.length ? lines[lines.length - 1]! : null;
}

/** `text` itself if it has at most `maxChars` code points, else its head and tail joined
 *  by `omission`, `maxChars` code points in all (head gets the extra one). */
export function truncateMiddle(text: string, maxChars: number, omission = '\n...\n'): string {
  const chars = Array.from(text);
  if (chars.length <= maxChars) return text;
  const mark = Array.from(omission);
  const room = maxChars - mark.length;
  if (room <= 0) return chars.slice(0, maxChars).join('');
  const head = Math.ceil(room / 2);
  return chars.slice(0, head).join('') + omission + chars.slice(chars.length - (room - head)).join('');
}
