// The generation engine: paged KV cache, continuous batching, prefix sharing, vLLM-style generate.
export { Engine, deriveSeed } from './engine.js';
export type { EngineOptions, Prompt, CompletionOutput, RequestOutput, StepEvent, StreamEvent, AddRequestOptions, EngineStats } from './engine.js';
export { SAMPLING_DEFAULTS, resolveSamplingParams } from './sampling-params.js';
export type { SamplingParams, ResolvedSamplingParams } from './sampling-params.js';
export { BlockManager, blockHash } from './block-manager.js';
export type { BlockCopy } from './block-manager.js';
export { Scheduler } from './scheduler.js';
export type { SchedulerLimits, ScheduledSeq, SchedulerOutput } from './scheduler.js';
export type { FinishReason, SequenceStatus } from './sequence.js';
