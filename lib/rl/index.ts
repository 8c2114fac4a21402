// GRPO training (ToRL's recipe): the trainer, its configuration, and the pieces of a step.
export { GrpoTrainer, summaryLine, type TrainerOptions, type StepReport, type TrainResult } from './trainer.js';
export { resolveTrainerConfig, loadTrainerConfig, type TrainerConfig, type TrainerConfigInput } from './config.js';
export { groupAdvantages, type AdvantageOptions } from './advantages.js';
export { packSequences, responseValues, totals, type TrainSequence, type MicroBatch } from './pack.js';
export { grpoLossSpec, policyUpdate, responseLogprobs, type UpdateStats } from './update.js';
export { latestCheckpoint, readCheckpoint, type TrainerState, type Checkpoint } from './checkpoint.js';
export { isCorrect, sampleMetrics, type StepMetrics } from './metrics.js';
export { drawFigures, figureSvg, TRAINING_FIGURES, type Figure } from './plots.js';
