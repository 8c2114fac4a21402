// A step's metrics under veRL's names (reward/mean, actor/pg_loss, response_length/mean, …),
// and OUT/metrics.jsonl: one JSON object per step, appended as steps finish.
import { appendFile } from 'node:fs/promises';
import { writeFileAtomic } from '../model/atomic.js';
import type { RolloutSample } from '../rollout/index.js';
import type { RewardResult } from '../reward/index.js';

/** One row of metrics.jsonl: `step` and named figures. */
export type StepMetrics = { step: number } & Record<string, number>;

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);

/** A response counts as correct when its answer matched the gold (whatever the reward's scale). */
export function isCorrect(r: RewardResult): boolean {
  return r.reason.startsWith('match:');
}

/** Reward, accuracy, tool use and length figures of a set of graded samples, under `prefix`. */
export function sampleMetrics(samples: readonly RolloutSample[], rewards: readonly RewardResult[], maxResponseTokens: number, prefix = ''): Record<string, number> {
  const calls = samples.reduce((a, s) => a + s.toolCalls.length, 0);
  const errors = samples.reduce((a, s) => a + s.toolErrors, 0);
  const lengths = samples.map((s) => s.tokenIds.length);
  return {
    [`${prefix}reward/mean`]: mean(rewards.map((r) => r.reward)),
    [`${prefix}accuracy/mean`]: mean(rewards.map((r) => (isCorrect(r) ? 1 : 0))),
    [`${prefix}tool/call_rate`]: mean(samples.map((s) => (s.toolCalls.length > 0 ? 1 : 0))),
    [`${prefix}tool/error_rate`]: calls ? errors / calls : 0,
    [`${prefix}tool/calls_per_response`]: samples.length ? calls / samples.length : 0,
    [`${prefix}tool/answer_after_call_rate`]: mean(samples.map((s) => (s.answerAfterTool ? 1 : 0))),
    [`${prefix}response_length/mean`]: mean(lengths),
    [`${prefix}response_length/max`]: lengths.length ? Math.max(...lengths) : 0,
    [`${prefix}response_length/clip_ratio`]: mean(samples.map((s) => (s.tokenIds.length >= maxResponseTokens ? 1 : 0))),
  };
}

/** Append one step's row. */
export async function appendMetrics(file: string, row: StepMetrics): Promise<void> {
  await appendFile(file, `${JSON.stringify(row)}\n`);
}

/** Replace the file with these rows (a resumed run drops the steps after its checkpoint). */
export async function rewriteMetrics(file: string, rows: readonly StepMetrics[]): Promise<void> {
  await writeFileAtomic(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}
