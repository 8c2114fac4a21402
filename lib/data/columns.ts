// Column mapping: where a row keeps its problem, answer, id and data source, by configuration or by
// the common layouts (flat jsonl; veRL/ToRL parquet with prompt = chat messages and reward_model.ground_truth).
import type { Row } from './rows.js';

/** Paths of the fields in a row: `a.b.c`, with `[i]` list indexes (negative from the end), e.g. `prompt[-1].content`. */
export interface ColumnMap {
  problem?: string;
  answer?: string;
  id?: string;
  dataSource?: string;
}

/** Candidate paths tried in order when a column is not configured. */
export const DEFAULT_COLUMNS: Required<Record<keyof ColumnMap, readonly string[]>> = {
  problem: ['problem', 'question', 'prompt'],
  answer: ['answer', 'reward_model.ground_truth', 'ground_truth', 'final_answer'],
  id: ['id', 'extra_info.id', 'unique_id', 'idx'],
  dataSource: ['data_source', 'source'],
};

/** The value at a path, or undefined when any step is missing. */
export function getPath(row: unknown, path: string): unknown {
  let cur: unknown = row;
  for (const part of path.match(/[^.[\]]+|\[-?\d+\]/g) ?? []) {
    if (cur === null || cur === undefined) return undefined;
    if (part.startsWith('[')) {
      if (!Array.isArray(cur)) return undefined;
      const i = Number(part.slice(1, -1));
      cur = cur[i < 0 ? cur.length + i : i];
    } else {
      if (typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
  }
  return cur;
}

/** A chat message list's last user message (veRL's prompt column); ToRL uses exactly that message. */
function lastUserContent(messages: unknown[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m && m.role === 'user' && typeof m.content === 'string') return m.content;
  }
  return undefined;
}

/** Text of a field value: strings as they are, numbers printed, chat messages -> last user turn, lists -> first item. */
export function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((m) => typeof m === 'object' && m !== null && 'role' in m)) return lastUserContent(value);
    return value.length > 0 ? asText(value[0]) : undefined;
  }
  return undefined;
}

/** Look a column up by its configured path or the defaults; returns the text and the path it came from. */
export function column(row: Row, key: keyof ColumnMap, columns: ColumnMap): { text?: string; tried: readonly string[] } {
  const configured = columns[key];
  const tried = configured === undefined ? DEFAULT_COLUMNS[key] : [configured];
  for (const path of tried) {
    const text = asText(getPath(row, path));
    if (text !== undefined) return { text, tried };
  }
  return { tried };
}
