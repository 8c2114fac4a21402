// torl.ops: the fused native ops, each with an async form (`nameAsync`) that
// runs on the compute pool and leaves the event loop free.
import { native } from '../native.js';
import type { NativeOps } from '../../types/native.js';
import type { GrpoLossOptions } from '../../types/ops/train.js';

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

/**
 * grpoLoss's options in the addon's spelling: clipRatio → clipLow/clipHigh, a numeric dualClip →
 * dualClip + clipRatioC. Giving a name and its alias together is an error.
 */
export function nativeGrpoOptions(options: GrpoLossOptions | undefined): GrpoLossOptions | undefined {
  if (options === undefined || options === null || typeof options !== 'object') return options;
  const { clipRatio, dualClip, ...rest } = options;
  const out: GrpoLossOptions = rest;
  if (clipRatio !== undefined) {
    if (options.clipLow !== undefined || options.clipHigh !== undefined) throw new Error('grpoLoss: give clipRatio or its aliases clipLow/clipHigh, not both');
    const bounds = typeof clipRatio === 'number' ? { low: clipRatio, high: clipRatio } : clipRatio;
    if (typeof bounds !== 'object' || bounds === null) throw new Error(`grpoLoss: clipRatio must be a number or { low, high }, got ${JSON.stringify(clipRatio)}`);
    Object.assign(out, { clipLow: bounds.low, clipHigh: bounds.high });
  }
  if (typeof dualClip === 'number') {
    if (options.clipRatioC !== undefined) throw new Error('grpoLoss: give dualClip: c or its alias clipRatioC, not both');
    Object.assign(out, { dualClip: true, clipRatioC: dualClip });
  } else if (dualClip !== undefined) out.dualClip = dualClip;
  return out;
}

type GrpoLossArgs = Parameters<NativeOps['grpoLoss']>;

export const ops: NativeOps = {
  ...native.ops,
  grpoLoss: (logp, oldLogp, advantages, mask, options) => native.ops.grpoLoss(logp, oldLogp, advantages, mask, nativeGrpoOptions(options)),
  grpoLossAsync: (...[logp, oldLogp, advantages, mask, options]: GrpoLossArgs) => native.ops.grpoLossAsync(logp, oldLogp, advantages, mask, nativeGrpoOptions(options)),
};
