// Re-grading a dump: every record's response graded again against its gold (after a grader
// change, or with another reward), and the figures recomputed from the new verdicts.
import { torlReward, type RewardFunction } from '../reward/index.js';
import { isCorrect } from '../rl/metrics.js';
import { evalMetrics, type EvalMetrics } from './metrics.js';
import { readRecords, type EvalRecord } from './records.js';

/** The records (or a samples.jsonl) with answer, verdict, reason and reward from `reward` (default torlReward). */
export async function regrade(recordsOrDump: readonly EvalRecord[] | string, reward: RewardFunction = torlReward): Promise<{ records: EvalRecord[]; metrics: EvalMetrics }> {
  const records = typeof recordsOrDump === 'string' ? await readRecords(recordsOrDump) : recordsOrDump;
  const out = await Promise.all(
    records.map(async (r) => {
      const g = await reward(r.response, r.gold);
      return { ...r, answer: g.answer, correct: isCorrect(g), reason: g.reason, reward: g.reward };
    }),
  );
  return { records: out, metrics: evalMetrics(out, [...new Set(out.map((r) => r.benchmark))]) };
}
