// torl.ops: the fused native ops, each with an async form (`nameAsync`) that
// runs on the compute pool and leaves the event loop free.
import { native } from '../native.js';
import type { NativeOps } from '../../types/native.js';

export type { LinearGrads, NativeOps as Ops } from '../../types/native.js';

export type {
  AdamWOptions,
  CrossEntropyResult,
  GrpoAdvantagesOptions,
  GrpoLossOptions,
  GrpoLossResult,
  KlType,
  LmHeadGrads,
  LmHeadLogprobResult,
  LossAggregation,
  PerRow,
  SampleOptions,
  SampleResult,
} from '../../types/ops/train.js';

export type {
  AttentionGrads,
  AttentionResult,
  RmsnormGrads,
  RmsnormResult,
  RopeOptions,
} from '../../types/ops/layers.js';

export type { AddOptions } from '../../types/ops/add.js';

export const ops: NativeOps = native.ops;
