// torl.reward: answer extraction, math-equivalence grading and reward functions.

export { extractAnswer, type ExtractFallback, type ExtractOptions } from './extract.js';
export {
  isEquivalent,
  MAX_ANSWER_LENGTH,
  type EquivalenceOptions,
  type EquivalenceResult,
  type MatchRule,
  type MismatchRule,
} from './equivalence.js';
export { normalizeAnswer } from './normalize.js';
export { configureGrader, shutdownGrader, type GraderPoolOptions } from './pool.js';
export {
  makeReward,
  rewardFunctions,
  torlReward,
  wformatReward,
  type RewardFunction,
  type RewardOptions,
  type RewardReason,
  type RewardResult,
  type RewardScores,
} from './rewards.js';
