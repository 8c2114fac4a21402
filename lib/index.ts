// torl: the public API. Each area lives in its own folder under lib/ and is
// re-exported here; nothing else in the package is public.
export type { DType } from './dtype.js';
export { DTYPES, DTYPE_BYTES } from './dtype.js';
export { backends, memoryInfo, synchronize } from './backends.js';
export type { BackendsInfo, CpuInfo, CudaInfo } from './backends.js';
export { Tensor, tensor, zeros, empty, fromBytes } from './tensor.js';
export type { TensorOptions } from './tensor.js';
export { ops } from './ops/index.js';
export type * from './ops/index.js';
export * as reward from './reward/index.js';
export { loadConfig, writeConfig, parseConfig, qwen2Config, readSafetensors, writeSafetensors, readModelWeights, hfToOurs, oursToHf, expectedParameters, createRandomCheckpoint } from './model/index.js';
export type { ModelConfig, TorchDType, HostTensor, TensorEntry, SafetensorsCheckpoint, WriteSafetensorsOptions, ParamSpec, RandomCheckpointOptions } from './model/index.js';
export { Model, AdamW, scheduledLr } from './model/index.js';
export type { Batch as ModelBatch, ModelOptions, StepOptions, BackwardOptions, LogprobOptions, LogprobResult, LossSpec, CrossEntropyLoss, GrpoLoss, LossAggregation, KlEstimator, StepResult, StepStats, AdamWConfig, AdamWState, StepInfo, LrSchedule } from './model/index.js';
export { loadTokenizer, Tokenizer, DecodeStream } from './tokenizer/index.js';
export type { EncodeOptions, DecodeOptions, ChatMessage, ChatTemplateOptions } from './tokenizer/index.js';
export { loadDataset, Dataset, templates } from './data/index.js';
export type { Example, LoadDatasetOptions, Batch, BatchOptions, ColumnMap, DataFormat, PromptTemplate, TemplateSpec } from './data/index.js';
export { PythonSandbox, SandboxFusionClient, formatObservation, truncateMiddle } from './sandbox/index.js';
export type { CodeRunner, RunRequest, RunResult, RunStatus, PythonSandboxOptions, SandboxInfo, Guarantees, IsolationMode, IsolationRequest, SandboxFusionOptions, ObservationOptions } from './sandbox/index.js';
export { Engine, deriveSeed, SAMPLING_DEFAULTS, BlockManager } from './engine/index.js';
export type { EngineOptions, Prompt, CompletionOutput, RequestOutput, StepEvent, StreamEvent, AddRequestOptions, EngineStats, SamplingParams, FinishReason } from './engine/index.js';
export { Rollout, OUTPUT_FENCE, extractProgram } from './rollout/index.js';
export type { RolloutOptions, RolloutResult, RolloutSample, RolloutStats, RolloutHooks, RolloutProgress, ToolCall } from './rollout/index.js';
export { GrpoTrainer, resolveTrainerConfig, loadTrainerConfig, groupAdvantages, packSequences, policyUpdate, responseLogprobs, grpoLossSpec, latestCheckpoint, readCheckpoint, drawFigures, TRAINING_FIGURES } from './rl/index.js';
export type { TrainerOptions, StepReport, TrainResult, TrainerConfig, TrainerConfigInput, AdvantageOptions, TrainSequence, MicroBatch, UpdateStats, TrainerState, Checkpoint, StepMetrics, Figure } from './rl/index.js';
export * as demo from './demo/index.js';
