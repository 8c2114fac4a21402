// bench/ops: every op family beside the same computation in PyTorch CPU
// (Debian's python3-torch through /usr/bin/python3, same thread count), as
// ratios ours / torch (throughput). Each family lives in bench/ops/<family>.ts
// and returns its rows; this file prints one table and the JSON line.
//   npm run bench -- ops [--quick] [family...]
import { emitJson, printTable, ratio } from './lib/harness.js';
import { attentionGpuBench } from './ops/attention_gpu.js';
import { layersBench } from './ops/layers.js';
import { trainBench } from './ops/train.js';
import { trainGpuBench } from './ops/train_gpu.js';

/** One measured op: our throughput beside torch's (absent when the reference could not run). */
export interface OpRow {
  op: string;
  shape: string;
  unit: string;
  ours: number;
  torch?: number | undefined;
  note?: string;
}

export interface OpBench {
  rows: OpRow[];
  /** Extra figures for the JSON line (memory, versions). */
  figures?: Record<string, unknown>;
}

const families: Record<string, (quick: boolean) => OpBench> = {
  layers: layersBench,
  train: trainBench,
  attention_gpu: attentionGpuBench,
  train_gpu: trainGpuBench,
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const chosen = args.filter((a) => !a.startsWith('--'));
for (const name of chosen) if (!(name in families)) throw new Error(`bench/ops: unknown family ${name} (known: ${Object.keys(families).join(', ')})`);

const rows: OpRow[] = [];
const figures: Record<string, unknown> = {};
for (const [name, run] of Object.entries(families)) {
  if (chosen.length && !chosen.includes(name)) continue;
  console.error(`bench/ops: ${name} ...`);
  const r = run(quick);
  rows.push(...r.rows);
  if (r.figures) figures[name] = r.figures;
}

printTable(
  'ops: torl beside PyTorch (CPU rows: torch CPU; (cuda) rows: torch on the GPU; torl ÷ torch = throughput ratio, > 1: torl faster)',
  ['op', 'shape', 'unit', 'torl', 'torch', 'torl ÷ torch', 'note'],
  rows.map((r) => [r.op, r.shape, r.unit, r.ours, r.torch ?? 'n/a', ratio(r.ours, r.torch), r.note ?? '']),
);
emitJson({
  bench: 'ops',
  rows: rows.map((r) => ({ ...r, ratio: r.torch ? r.ours / r.torch : null })),
  ...figures,
});
