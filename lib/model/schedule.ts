// Learning-rate schedules: the LR for a 1-based optimizer step.

/** constant; linear warmup then constant; or linear warmup then cosine decay to minLr at totalSteps. */
export type LrSchedule =
  | { type: 'constant' }
  | { type: 'linear-warmup'; warmupSteps: number }
  | { type: 'cosine'; warmupSteps?: number; totalSteps: number; minLr?: number };

/** The learning rate at `step` (1-based) for a peak `lr`. */
export function scheduledLr(lr: number, schedule: LrSchedule, step: number): number {
  const warmup = schedule.type === 'constant' ? 0 : (schedule.warmupSteps ?? 0);
  if (step <= warmup) return (lr * step) / warmup;
  if (schedule.type !== 'cosine') return lr;
  const minLr = schedule.minLr ?? 0;
  const progress = Math.min(1, (step - warmup) / Math.max(1, schedule.totalSteps - warmup));
  return minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Throws naming the first bad field. */
export function checkSchedule(s: LrSchedule): void {
  const fail = (msg: string): never => {
    throw new Error(`AdamW: schedule ${msg}`);
  };
  if (s.type === 'constant') return;
  const warmup = s.warmupSteps ?? 0;
  if (!(Number.isInteger(warmup) && warmup >= 0)) fail(`warmupSteps must be a non-negative integer, got ${warmup}`);
  if (s.type === 'linear-warmup') return;
  if (s.type !== 'cosine') fail(`type must be 'constant', 'linear-warmup' or 'cosine', got ${JSON.stringify((s as { type: unknown }).type)}`);
  if (!(Number.isInteger(s.totalSteps) && s.totalSteps > warmup)) fail(`totalSteps must be an integer above warmupSteps, got ${s.totalSteps}`);
  if (s.minLr !== undefined && !(s.minLr >= 0)) fail(`minLr must be ≥ 0, got ${s.minLr}`);
}
