// GRPO's outcome advantages (veRL compute_grpo_outcome_advantage): each response's reward
// minus its group's mean, divided by the group's unbiased std + eps (Dr.GRPO: not divided).

export interface AdvantageOptions {
  /** Divide by the group's std (GRPO); false is Dr.GRPO. Default true. */
  normAdvByStd?: boolean;
  /** Default 1e-6. */
  eps?: number;
}

/**
 * One advantage per response [G · groupSize], for rewards laid out group by group (a prompt's
 * samples side by side). A group of one has mean 0 and std 1, as veRL; equal rewards give 0.
 */
export function groupAdvantages(rewards: ArrayLike<number>, groupSize: number, options: AdvantageOptions = {}): Float32Array {
  const { normAdvByStd = true, eps = 1e-6 } = options;
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new Error(`groupAdvantages: groupSize must be an integer ≥ 1, got ${groupSize}`);
  if (rewards.length % groupSize !== 0) throw new Error(`groupAdvantages: ${rewards.length} rewards do not split into groups of ${groupSize}`);
  const out = new Float32Array(rewards.length);
  for (let g = 0; g < rewards.length; g += groupSize) {
    let mean = 0, std = 1;
    if (groupSize > 1) {
      for (let i = g; i < g + groupSize; i++) mean += rewards[i]!;
      mean /= groupSize;
      let ss = 0;
      for (let i = g; i < g + groupSize; i++) ss += (rewards[i]! - mean) ** 2;
      std = Math.sqrt(ss / (groupSize - 1));
    }
    for (let i = g; i < g + groupSize; i++) {
      if (!Number.isFinite(rewards[i]!)) throw new Error(`groupAdvantages: reward ${i} is ${rewards[i]}`);
      out[i] = normAdvByStd ? (rewards[i]! - mean) / (std + eps) : rewards[i]! - mean;
    }
  }
  return out;
}
