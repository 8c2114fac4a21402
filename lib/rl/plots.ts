// Training curves as SVG, drawn headless by Vega-Lite (no browser, no canvas), and as PNG
// rendered from the SVG by resvg where its prebuilt binary loads: one figure per quantity over
// steps, each line a series (train / val, or one run per series when comparing).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { writeFileAtomic } from '../model/atomic.js';
import type { StepMetrics } from './metrics.js';

/** A figure: its file name, title, and the metrics drawn (legend label → metric name). */
export interface Figure {
  file: string;
  title: string;
  series: Record<string, string>;
}

/** The trainer's figures (OUT/plots/*.svg). */
export const TRAINING_FIGURES: Figure[] = [
  { file: 'reward', title: 'Reward (mean)', series: { train: 'reward/mean' } },
  { file: 'accuracy', title: 'Accuracy', series: { train: 'accuracy/mean', val: 'val/accuracy' } },
  { file: 'tool_call_rate', title: 'Responses with a tool call', series: { train: 'tool/call_rate', val: 'val/tool/call_rate' } },
  { file: 'tool_error_rate', title: 'Tool calls that failed', series: { train: 'tool/error_rate' } },
  { file: 'response_length', title: 'Response length (tokens, mean)', series: { train: 'response_length/mean', val: 'val/response_length/mean' } },
];

interface Point {
  step: number;
  value: number;
  series: string;
}

/** The SVG of one figure over runs of metrics (run name → rows); with several runs, lines are named by run. */
export async function figureSvg(figure: Figure, runs: Record<string, readonly StepMetrics[]>): Promise<string> {
  const values: Point[] = [];
  const several = Object.keys(runs).length > 1;
  const oneSeries = Object.keys(figure.series).length === 1;
  for (const [run, rows] of Object.entries(runs)) {
    for (const [label, metric] of Object.entries(figure.series)) {
      const series = !several ? label : oneSeries ? run : `${run} ${label}`;
      for (const row of rows) if (typeof row[metric] === 'number' && Number.isFinite(row[metric])) values.push({ step: row.step, value: row[metric]!, series });
    }
  }
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: figure.title,
    width: 520,
    height: 260,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: values.length <= 60 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

type SvgToPng = (svg: string) => Uint8Array;
let toPng: Promise<SvgToPng | null> | undefined;

/** resvg's renderer, or null where its binary does not load (the SVGs are still written). */
function pngRenderer(): Promise<SvgToPng | null> {
  toPng ??= import('@resvg/resvg-js').then(
    ({ Resvg }) => (svg: string) => new Resvg(svg, { background: 'white', font: { loadSystemFonts: true } }).render().asPng(),
    () => null,
  );
  return toPng;
}

/** Draw every figure into dir/<file>.svg and .png (atomically: a reader never sees half a file); returns the SVG paths. */
export async function drawFigures(dir: string, figures: readonly Figure[], runs: Record<string, readonly StepMetrics[]>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const render = await pngRenderer();
  const files: string[] = [];
  for (const f of figures) {
    const svg = await figureSvg(f, runs);
    const file = join(dir, `${f.file}.svg`);
    await writeFileAtomic(file, svg);
    if (render) await writeFileAtomic(join(dir, `${f.file}.png`), render(svg));
    files.push(file);
  }
  return files;
}
