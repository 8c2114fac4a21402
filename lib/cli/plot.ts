// `torl plot OUT`: re-draw a run's figures (OUT/plots/*.svg) from OUT/metrics.jsonl.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { drawFigures, TRAINING_FIGURES, type StepMetrics } from '../rl/index.js';

export async function plot(out: string): Promise<void> {
  const file = join(out, 'metrics.jsonl');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new Error(`${out}: no metrics.jsonl (give the output folder of a torl train run)`);
  });
  const rows = text.split('\n').filter((l) => l.trim() !== '').map((l, i) => {
    try {
      return JSON.parse(l) as StepMetrics;
    } catch {
      throw new Error(`${file}: line ${i + 1} is not JSON`);
    }
  });
  for (const f of await drawFigures(join(out, 'plots'), TRAINING_FIGURES, { run: rows })) console.log(f);
}
