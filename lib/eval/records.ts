// The per-sample dump of an eval (OUT/samples.jsonl): one graded response per line, with what
// anyone needs to re-grade it (prompt, response, extracted answer, gold, verdict, tool calls).
// Lines are appended a whole problem at a time, so the file always holds complete problems,
// but for a line torn by a kill, which reading drops.
import { appendFile, readFile } from 'node:fs/promises';
import type { RewardReason, RewardResult } from '../reward/index.js';
import { isCorrect } from '../rl/metrics.js';
import type { RolloutSample } from '../rollout/index.js';
import type { RunStatus } from '../sandbox/index.js';

/** One graded sample. */
export interface EvalRecord {
  /** The problem: its benchmark (or data file) and row, e.g. `aime24:3`; the same in every sample of the problem. */
  key: string;
  /** The group it counts in: the benchmark's name, or a data file's data_source (else file name). */
  benchmark: string;
  id: string;
  /** The sample's index among the problem's k. */
  sample: number;
  prompt: string;
  response: string;
  /** The extracted final answer (null: none), the gold answer, and the verdict. */
  answer: string | null;
  gold: string;
  correct: boolean;
  /** The grader's reason (`match:<rule>`, `mismatch`, `no-answer`, …) and reward. */
  reason: RewardReason;
  reward: number;
  responseTokens: number;
  finishReason: 'stop' | 'length';
  toolCalls: { code: string | null; status: RunStatus | null; observation: string }[];
  toolErrors: number;
}

/** The problem a sample belongs to, as the rollout and the dataset give them. */
export interface ProblemRef {
  key: string;
  benchmark: string;
  id: string;
  prompt: string;
  answer: string;
}

/** The record of a graded rollout sample. */
export function toRecord(p: ProblemRef, s: RolloutSample, r: RewardResult): EvalRecord {
  return {
    key: p.key,
    benchmark: p.benchmark,
    id: p.id,
    sample: s.index,
    prompt: p.prompt,
    response: s.text,
    answer: r.answer,
    gold: p.answer,
    correct: isCorrect(r),
    reason: r.reason,
    reward: r.reward,
    responseTokens: s.tokenIds.length,
    finishReason: s.finishReason,
    toolCalls: s.toolCalls.map((c) => ({ code: c.code, status: c.result?.status ?? null, observation: c.observation })),
    toolErrors: s.toolErrors,
  };
}

/** Append records (one problem's samples) as JSON lines. */
export async function appendRecords(file: string, records: readonly EvalRecord[]): Promise<void> {
  await appendFile(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/**
 * The records of a dump, in file order; a missing file is empty. A last line cut short (the
 * process killed mid-write) is dropped; any other unreadable line is an error naming it.
 */
export async function readRecords(file: string): Promise<EvalRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const lines = text.split('\n');
  const out: EvalRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch (e) {
      if (i === lines.length - 1) return; // torn by a kill: no newline after it
      throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
    const rec = r as Partial<EvalRecord>;
    if (typeof rec.key !== 'string' || typeof rec.benchmark !== 'string' || typeof rec.sample !== 'number' || typeof rec.correct !== 'boolean' || typeof rec.response !== 'string' || typeof rec.gold !== 'string') {
      throw new Error(`${file}:${i + 1}: not an eval record (needs key, benchmark, sample, response, gold, correct)`);
    }
    out.push(rec as EvalRecord);
  });
  return out;
}

/** Records grouped by problem, keeping only problems that have every sample 0 … k−1 (each once, the first copy). */
export function completeProblems(records: readonly EvalRecord[], k: number): Map<string, EvalRecord[]> {
  const by = new Map<string, (EvalRecord | undefined)[]>();
  for (const r of records) {
    if (r.sample >= k) continue;
    const g = by.get(r.key) ?? Array.from({ length: k }, () => undefined);
    g[r.sample] ??= r;
    by.set(r.key, g);
  }
  const done = new Map<string, EvalRecord[]>();
  for (const [key, g] of by) if (g.every((r) => r !== undefined)) done.set(key, g as EvalRecord[]);
  return done;
}
