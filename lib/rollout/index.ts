// The tool-integrated rollout: samples that call the Python sandbox mid-generation, token level.
export { Rollout, OUTPUT_FENCE } from './rollout.js';
export type { RolloutOptions, RolloutResult, RolloutSample, RolloutStats, RolloutHooks, RolloutProgress, ToolCall } from './rollout.js';
export { extractProgram } from './code.js';
