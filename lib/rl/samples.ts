// Sample dumps: OUT/samples/step-N.jsonl (and val-step-N.jsonl), one graded response per line
// with its prompt, gold answer, reward and tool calls, for reading what the policy does.
import { writeFileAtomic } from '../model/atomic.js';
import type { Example } from '../data/index.js';
import type { RewardResult } from '../reward/index.js';
import type { RolloutSample } from '../rollout/index.js';

/** Write the first `count` samples of a step. */
export async function writeSamples(file: string, step: number, examples: readonly Example[], samples: readonly RolloutSample[], rewards: readonly RewardResult[], count: number): Promise<void> {
  if (count === 0) return;
  const lines = samples.slice(0, count).map((s, i) => {
    const e = examples[s.promptIndex]!;
    return JSON.stringify({
      step,
      id: e.id,
      dataSource: e.dataSource,
      sample: s.index,
      prompt: e.prompt,
      response: s.text,
      gold: e.answer,
      answer: rewards[i]!.answer,
      reward: rewards[i]!.reward,
      reason: rewards[i]!.reason,
      finishReason: s.finishReason,
      responseTokens: s.tokenIds.length,
      toolCalls: s.toolCalls.map((c) => ({ code: c.code, status: c.result?.status ?? null, observation: c.observation, latencyMs: Math.round(c.latencyMs) })),
    });
  });
  await writeFileAtomic(file, `${lines.join('\n')}\n`);
}
