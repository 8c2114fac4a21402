// Progress bars for the long phases (rollout, training micro-batches, validation), on a TTY
// only: elsewhere (logs, CI, pipes) they stay quiet and the one summary line per step remains.
import { SingleBar } from 'cli-progress';

export interface PhaseBar {
  /** Done so far, a short free text (tokens/s, tools in flight, …), and the total when it was not known at the start. */
  update(done: number, info?: string, total?: number): void;
  stop(): void;
}

const QUIET: PhaseBar = { update() {}, stop() {} };

/** A bar for one phase of `total` units, or a silent one when `enabled` is false. */
export function phaseBar(enabled: boolean, label: string, total: number, unit: string): PhaseBar {
  if (!enabled) return QUIET;
  const bar = new SingleBar({
    format: `${label.padEnd(10)} [{bar}] {value}/{total} ${unit} | {info} | {duration_formatted}`,
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    stream: process.stdout,
  });
  bar.start(total, 0, { info: '' });
  return {
    update(done, info = '', total) {
      if (total !== undefined) bar.setTotal(total);
      bar.update(done, { info });
    },
    stop() {
      bar.stop();
    },
  };
}
