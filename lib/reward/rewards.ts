// Reward functions: the final answer of a response graded against the gold answer.
// ToRL's default is +1 / −1; "v2.wformat" gives −0.5 to a wrong boxed answer and −1 to no
// answer; any of them can take a penalty when the response's code failed to run.

import { isEquivalent, type EquivalenceOptions, type MatchRule } from './equivalence.js';
import { expectString } from './check.js';
import { extractAnswer, toolOutputs, type ExtractOptions } from './extract.js';

export interface RewardOptions {
  extract?: ExtractOptions;
  equivalence?: EquivalenceOptions;
  /**
   * Subtracted once when a tool call of the response failed (default 0: no penalty).
   * Failures are counted by `toolErrors` when given, else detected in the response's
   * tool-output blocks (a Python traceback or an `…Error:` line).
   */
  codePenalty?: number;
  /** Failed tool calls of the response, as counted by the rollout. */
  toolErrors?: number;
}

/** Why a response got its reward. */
export type RewardReason = 'no-answer' | 'mismatch' | 'timeout' | 'too-long' | `match:${MatchRule}`;

export interface RewardResult {
  reward: number;
  reason: RewardReason;
  /** The extracted answer, or null when there was none. */
  answer: string | null;
  /** The code-execution penalty included in `reward` (0 when none). */
  penalty: number;
}

/** The shared signature of reward functions, built-in and user-defined. */
export type RewardFunction = (response: string, gold: string, options?: RewardOptions) => Promise<RewardResult>;

/** The reward for each outcome of a reward built by {@link makeReward}. */
export interface RewardScores {
  correct: number;
  wrong: number;
  noAnswer: number;
}

/**
 * A reward function that grades the extracted answer and scores the outcome with `scores`.
 * It rejects (TypeError naming `name` and the argument) a response or gold that is not a string,
 * and a codePenalty / toolErrors that is not a finite number ≥ 0; any string grades.
 */
export function makeReward(scores: RewardScores, name = 'reward'): RewardFunction {
  for (const [key, value] of Object.entries(scores)) {
    if (!Number.isFinite(value)) throw new RangeError(`makeReward: score ${key} must be a finite number, got ${value}`);
  }
  return async (response, gold, options = {}) => {
    expectString(name, 'response', response);
    expectString(name, 'gold', gold);
    for (const key of ['codePenalty', 'toolErrors'] as const) {
      const v = options[key];
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new TypeError(`${name}: options.${key} must be a finite number ≥ 0, got ${JSON.stringify(v)}`);
    }
    const penalty = hasToolError(response, options) ? (options.codePenalty ?? 0) : 0;
    const answer = extractAnswer(response, options.extract);
    if (answer === null) return { reward: scores.noAnswer - penalty, reason: 'no-answer', answer, penalty };
    const verdict = await isEquivalent(answer, gold, options.equivalence);
    const reason: RewardReason = verdict.equal ? `match:${verdict.rule}` : verdict.rule;
    return { reward: (verdict.equal ? scores.correct : scores.wrong) - penalty, reason, answer, penalty };
  };
}

const TOOL_ERROR = /Traceback \(most recent call last\)|^\w*(?:Error|Exception): /m;

function hasToolError(response: string, options: RewardOptions): boolean {
  if (!options.codePenalty) return false;
  if (options.toolErrors !== undefined) return options.toolErrors > 0;
  return toolOutputs(response, options.extract?.toolOutputFence ?? '```output').some((block) => TOOL_ERROR.test(block));
}

/** ToRL's reward: +1 for a boxed answer equal to the gold, −1 otherwise. */
export const torlReward: RewardFunction = makeReward({ correct: 1, wrong: -1, noAnswer: -1 }, 'torlReward');

/** The "v2.wformat" variant: +1 correct, −0.5 for a wrong boxed answer, −1 for no answer. */
export const wformatReward: RewardFunction = makeReward({ correct: 1, wrong: -0.5, noAnswer: -1 }, 'wformatReward');

/** The built-in reward functions by name (as used in training configs). */
export const rewardFunctions: Readonly<Record<'torl' | 'v2.wformat', RewardFunction>> = {
  torl: torlReward,
  'v2.wformat': wformatReward,
};
