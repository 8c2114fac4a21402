// grpoLoss / grpoAdvantages against veRL's definitions written plainly in
// float64 (test/helpers/train-ref.ts); the gradients against central finite
// differences of that reference. Cases cover every aggregation and KL type,
// asymmetric clips, the dual clip, clamped ratios and KL, masks with all-zero
// sequences and an all-zero mask.
import * as torl from '../../../lib/index.js';
import { randn, rng } from '../../helpers/reference.js';
import { grpoAdvantagesRef, grpoLossRef, numericGrad, type GrpoRefOptions } from '../../helpers/train-ref.js';
import type { OpCase, Tol } from '../table.js';

interface LossSetup {
  name: string;
  T: number;
  /** sequence lengths (sum T) */
  seqs: number[];
  /** which tokens are masked out */
  mask: (t: number, seq: number) => boolean;
  opts: Omit<GrpoRefOptions, 'cuSeqlens'>;
  /** spread of logp − oldLogp (large values reach the ±20 clamp) */
  spread: number;
}

const base = { clipLow: 0.2, clipHigh: 0.2, clipRatioC: 3, klCoef: 0, klType: 'k3', entropyCoef: 0, agg: 'token-mean' } as const;

const SETUPS: LossSetup[] = [
  { name: 'token-mean, defaults', T: 200, seqs: [200], mask: (t) => t % 7 === 3, opts: { ...base }, spread: 0.5 },
  {
    name: 'token-mean, clip 0.2/0.28, no dual clip, k1 KL, entropy bonus',
    T: 150, seqs: [60, 90], mask: (t) => t < 5,
    opts: { ...base, clipHigh: 0.28, clipRatioC: null, klCoef: 0.05, klType: 'k1', entropyCoef: 0.01 }, spread: 0.6,
  },
  {
    name: 'seq-mean-token-sum, k2 KL, a fully masked sequence',
    T: 120, seqs: [40, 1, 30, 49], mask: (t, s) => s === 2 || t % 5 === 0,
    opts: { ...base, klCoef: 0.1, klType: 'k2', agg: 'seq-mean-token-sum' }, spread: 0.4,
  },
  {
    name: 'seq-mean-token-mean, k3 KL (clamped), dual clip 2.5, a fully masked sequence',
    T: 131, seqs: [17, 64, 50], mask: (t, s) => s === 0 || t % 9 === 4,
    opts: { ...base, clipRatioC: 2.5, klCoef: 0.2, klType: 'k3', entropyCoef: 0.003, agg: 'seq-mean-token-mean' }, spread: 4,
  },
  { name: 'ratio clamp at ±20', T: 40, seqs: [40], mask: () => false, opts: { ...base, klCoef: 0.1 }, spread: 30 },
  { name: 'all-zero mask', T: 30, seqs: [10, 20], mask: () => true, opts: { ...base, klCoef: 0.1, entropyCoef: 0.01, agg: 'seq-mean-token-mean' }, spread: 0.3 },
];

const exact: Tol = { rtol: 1e-9, atol: 1e-9 };

function lossCase(s: LossSetup): OpCase {
  return {
    op: 'grpoLoss',
    name: s.name,
    run(device) {
      const rand = rng(s.T * 31 + s.seqs.length);
      const old = randn(s.T, rand).map((x) => x * 2 - 3);
      const logp = old.map((x) => x + (rand() * 2 - 1) * s.spread);
      const ref = old.map((x) => x + (rand() * 2 - 1) * s.spread);
      const adv = randn(s.T, rand).map((x) => x * 2);
      const ent = randn(s.T, rand).map((x) => Math.abs(x) * 3);
      const cu = [0];
      for (const n of s.seqs) cu.push(cu[cu.length - 1]! + n);
      const seqOf = (t: number) => cu.findIndex((c) => c > t) - 1;
      const mask = Float32Array.from({ length: s.T }, (_, t) => (s.mask(t, seqOf(t)) ? 0 : 1));
      const F = (a: Float32Array) => torl.tensor(a, [s.T], { device });
      const opts = { ...s.opts, cuSeqlens: cu };
      const r = torl.ops.grpoLoss(F(logp), F(old), F(adv), F(mask), {
        refLogp: s.opts.klCoef ? F(ref) : undefined,
        entropy: F(ent),
        cuSeqlens: torl.tensor(Int32Array.from(cu), [cu.length], { device }),
        clipLow: s.opts.clipLow,
        clipHigh: s.opts.clipHigh,
        dualClip: s.opts.clipRatioC !== null,
        clipRatioC: s.opts.clipRatioC ?? 3,
        klCoef: s.opts.klCoef,
        klType: s.opts.klType,
        entropyCoef: s.opts.entropyCoef,
        aggregation: s.opts.agg,
      });
      const refs = s.opts.klCoef ? ref : null;
      const want = grpoLossRef(logp, old, adv, mask, refs, ent, opts);
      const dlogp = numericGrad((x) => grpoLossRef(x, old, adv, mask, refs, ent, opts).loss, logp);
      const dent = numericGrad((x) => grpoLossRef(logp, old, adv, mask, refs, x, opts).loss, ent);
      const checks = {
        loss: { got: [r.loss], want: [want.loss], tol: { rtol: 1e-6, atol: 1e-7 } },
        dlogp: { got: r.dlogp.toArray() as Float32Array, want: dlogp, tol: { rtol: 1e-4, atol: 1e-7 } },
        stats: {
          got: [r.clipFraction, r.clipFractionLower, r.approxKl, r.klMean, r.entropyMean, r.ratioMean, r.ratioMax],
          want: [want.clipFraction, want.clipFractionLower, want.approxKl, want.klMean, want.entropyMean, want.ratioMean, want.ratioMax],
          tol: { rtol: 1e-6, atol: 1e-7 },
        },
      };
      if (!s.opts.entropyCoef) return { ...checks, noDentropy: { got: [r.dentropy ? 1 : 0], want: [0], tol: exact } };
      return { ...checks, dentropy: { got: r.dentropy!.toArray() as Float32Array, want: dent, tol: { rtol: 1e-4, atol: 1e-7 } } };
    },
  };
}

function advantagesCase(name: string, rewards: number[], groups: number[] | number, normStd: boolean): OpCase {
  return {
    op: 'grpoAdvantages',
    name,
    run(device) {
      const ids = typeof groups === 'number' ? rewards.map((_, i) => Math.floor(i / groups)) : groups;
      const got = torl.ops.grpoAdvantages(
        torl.tensor(Float32Array.from(rewards), [rewards.length], { device }),
        typeof groups === 'number'
          ? { groupSize: groups, normStd }
          : { groupIds: torl.tensor(Int32Array.from(groups), [groups.length], { device }), normStd },
      );
      const r32 = Float32Array.from(rewards);
      return { advantages: { got: got.toArray() as Float32Array, want: grpoAdvantagesRef(r32, ids, 1e-6, normStd), tol: { rtol: 1e-6, atol: 1e-7 } } };
    },
  };
}

const rand = rng(99);
const binary = Array.from({ length: 64 }, () => (rand() < 0.4 ? 1 : 0));

export const grpoCases: OpCase[] = [
  ...SETUPS.map(lossCase),
  advantagesCase('binary rewards, groups of 8', binary, 8, true),
  advantagesCase('binary rewards, groups of 8, mean-only (Dr. GRPO)', binary, 8, false),
  advantagesCase('all-equal groups give zeros', [1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.3, 0.7, 0.2, 0.9], 4, true),
  advantagesCase('group ids: interleaved, a singleton, an all-equal group', [0.5, 1, 0, 2, 1, 0.25, 0.25, 3], [7, 3, 7, -1, 3, 9, 9, 7], true),
];
