// Model I/O: Qwen2 config, safetensors checkpoints, parameter names, random checkpoints.
export { loadConfig, parseConfig, writeConfig, toHfConfig, qwen2Config, type ModelConfig, type TorchDType } from './config.js';
export {
  readSafetensors, writeSafetensors,
  type HostTensor, type TensorEntry, type SafetensorsCheckpoint, type WriteSafetensorsOptions,
} from './safetensors.js';
export { hfToOurs, oursToHf, expectedParameters, readModelWeights, type ParamSpec } from './names.js';
export { createRandomCheckpoint, randomWeights, type RandomCheckpointOptions } from './random-checkpoint.js';
export { encodeFloats, toBf16Bits, toF16Bits } from './float.js';
export { Model, type ModelOptions, type StepOptions, type BackwardOptions, type LogprobOptions, type LogprobResult, type LossSpec, type CrossEntropyLoss, type GrpoLoss, type LossAggregation, type KlEstimator, type StepResult, type StepStats } from './model.js';
export { packBatch, type Batch, type PackedBatch } from './batch.js';
export { AdamW, type AdamWConfig, type AdamWState, type StepInfo } from './adamw.js';
export { scheduledLr, type LrSchedule } from './schedule.js';
