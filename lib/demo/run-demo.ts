// `torl demo`: the paper's central finding at laptop scale, with the real parts only. The
// tiny base model (made and cached by torl) learns by GRPO with reward +1/−1 alone to call the
// interpreter on problems it cannot do in its head; the same RL with tools off is the
// baseline. Each run is the public GrpoTrainer with its own output folder; the demo adds the
// comparison figures, OUT/summary.json and a table. --study runs the paper's ablations small.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { GrpoTrainer, type TrainerConfigInput } from '../rl/index.js';
import { drawFigures, type Figure } from '../rl/plots.js';
import type { StepMetrics } from '../rl/metrics.js';
import { ensureDemoBaseModel, type DemoRecipe } from './base-model.js';
import { writeDemoTask } from './task.js';
import { DEMO_TEMPLATE } from './template.js';

export interface DemoOptions {
  /** The demo's folder (default ./torl-demo). */
  out?: string;
  /** RL steps per run. */
  steps?: number;
  seed?: number;
  /** Checkpoint every this many steps. */
  checkpointEvery?: number;
  /** Continue the runs from their last checkpoints. */
  resume?: boolean;
  /** Run the no-tool baseline (default true). */
  baseline?: boolean;
  /** Also the ablations: C = 0…3, error feedback, code penalty. */
  study?: boolean;
  /** Where the base model is cached (default $TORL_CACHE or ~/.cache/torl). */
  cacheDir?: string;
  /** The base model's recipe (default DEMO_RECIPE; tests use a smaller one). */
  recipe?: DemoRecipe;
  log?: (line: string) => void;
  progress?: boolean;
}

/** Accuracy and tool-call rate at a point of a run. */
export interface RunPoint {
  accuracy: number;
  toolCallRate: number;
}

export interface RunSummary {
  /** Step 1 (the base model sampling). */
  initial: RunPoint;
  /** Mean of the last 5 steps. */
  final: RunPoint;
  /** Greedy validation on the test split before training and after the last step. */
  val: { initial: number | null; final: number | null };
  seconds: number;
}

export interface DemoSummary {
  torl: RunSummary;
  noTool: RunSummary | null;
  study?: Record<string, RunSummary & { stepSeconds: number }>;
  baseModel: { dir: string; cached: boolean; seconds: number };
  seconds: number;
}

/** The RL recipe at this scale (everything else is ToRL's default). */
export const DEMO_RL = {
  steps: 60,
  promptsPerStep: 16,
  samplesPerPrompt: 8,
  maxResponseTokens: 160,
  lr: 1.5e-4,
  /** A snippet runs in milliseconds here; a run that hangs costs a step 2 s, not the sandbox's 10. */
  toolTimeoutMs: 2000,
  valExamples: 64,
  testFreq: 10,
} as const;

/** The trainer config of one demo run: tools on (C = maxToolCalls) or off (0). */
export function demoConfig(o: { baseModel: string; train: string; test: string; outDir: string; steps: number; seed: number; checkpointEvery: number; maxToolCalls: number; feedErrors?: boolean; codePenalty?: number }): TrainerConfigInput {
  return {
    model: { path: o.baseModel },
    data: { train: o.train, val: o.test, template: DEMO_TEMPLATE, maxPromptTokens: 64, trainBatchSize: DEMO_RL.promptsPerStep, maxValExamples: DEMO_RL.valExamples },
    rollout: { n: DEMO_RL.samplesPerPrompt, maxResponseTokens: DEMO_RL.maxResponseTokens, maxToolCalls: o.maxToolCalls, feedErrors: o.feedErrors ?? true, toolTimeoutMs: DEMO_RL.toolTimeoutMs, kvCacheTokens: 256 * 256, maxNumSeqs: 256 },
    sandbox: { workers: 2 },
    reward: { function: 'torl', codePenalty: o.codePenalty ?? 0 },
    actor: { lr: DEMO_RL.lr, microBatchTokens: 8192 },
    trainer: { totalSteps: o.steps, seed: o.seed, saveFreq: o.checkpointEvery, testFreq: Math.min(DEMO_RL.testFreq, o.steps), outDir: o.outDir, samplesPerStep: 8 },
  };
}

const COMPARE: Figure[] = [
  { file: 'accuracy', title: 'Accuracy (training samples)', series: { train: 'accuracy/mean' } },
  { file: 'val_accuracy', title: 'Accuracy (test split, greedy)', series: { val: 'val/accuracy' } },
  { file: 'tool_call_rate', title: 'Responses with a tool call', series: { train: 'tool/call_rate' } },
  { file: 'response_length', title: 'Response length (tokens)', series: { train: 'response_length/mean' } },
];

function summarize(rows: readonly StepMetrics[], seconds: number): RunSummary {
  const steps = rows.filter((r) => r.step > 0 && r['accuracy/mean'] !== undefined);
  const point = (rs: readonly StepMetrics[]): RunPoint => ({
    accuracy: rs.reduce((a, r) => a + r['accuracy/mean']!, 0) / rs.length,
    toolCallRate: rs.reduce((a, r) => a + r['tool/call_rate']!, 0) / rs.length,
  });
  const vals = rows.filter((r) => r['val/accuracy'] !== undefined);
  return {
    initial: point(steps.slice(0, 1)),
    final: point(steps.slice(-5)),
    val: { initial: vals[0]?.['val/accuracy'] ?? null, final: vals.length > 1 ? vals[vals.length - 1]!['val/accuracy']! : null },
    seconds,
  };
}

/** Run the demo; returns what OUT/summary.json holds. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoSummary> {
  const t0 = performance.now();
  const out = resolve(options.out ?? 'torl-demo');
  const log = options.log ?? console.log;
  const steps = options.steps ?? DEMO_RL.steps;
  const seed = options.seed ?? 1;
  const checkpointEvery = options.checkpointEvery ?? Math.max(1, Math.ceil(steps / 4));
  log(`torl demo → ${out}`);
  const baseModel = await ensureDemoBaseModel({
    cacheDir: options.cacheDir,
    recipe: options.recipe,
    onProgress: (p) => {
      if (p.phase === 'pretrain' && (p.step === 1 || p.step % 50 === 0 || p.step === p.steps)) log(`  pretraining the base model: step ${p.step}/${p.steps}, loss ${p.loss.toFixed(3)}`);
    },
  });
  log(baseModel.cached ? `base model: cached, ${baseModel.dir}` : `base model: built in ${baseModel.seconds.toFixed(0)} s, cached in ${baseModel.dir}`);
  const data = await writeDemoTask(join(out, 'data'));

  const run = async (name: string, dir: string, maxToolCalls: number, extra: { feedErrors?: boolean; codePenalty?: number; steps?: number } = {}) => {
    const ts = performance.now();
    log(`\n${name}`);
    const config = demoConfig({ baseModel: baseModel.dir, train: data.train, test: data.test, outDir: join(out, dir), steps: extra.steps ?? steps, seed, checkpointEvery, maxToolCalls, feedErrors: extra.feedErrors, codePenalty: extra.codePenalty });
    const trainer = new GrpoTrainer(config, { resume: options.resume ?? false, log, progress: options.progress });
    try {
      const r = await trainer.train();
      return { rows: r.metrics, summary: summarize(r.metrics, (performance.now() - ts) / 1000) };
    } finally {
      await trainer.close();
    }
  };

  const torl = await run('ToRL: GRPO with the interpreter (C = 1)', 'torl', 1);
  const noTool = options.baseline === false ? null : await run('baseline: the same RL, tools off (C = 0)', 'no-tool', 0);
  await drawFigures(join(out, 'plots'), COMPARE, noTool ? { ToRL: torl.rows, 'no tool': noTool.rows } : { ToRL: torl.rows });

  let study: DemoSummary['study'];
  if (options.study) {
    study = {};
    const studySteps = Math.max(2, Math.ceil(steps / 2));
    const ablations: [string, number, { feedErrors?: boolean; codePenalty?: number }][] = [
      ['C=0', 0, {}], ['C=1', 1, {}], ['C=2', 2, {}], ['C=3', 3, {}],
      ['errors masked', 1, { feedErrors: false }], ['code penalty 0.5', 1, { codePenalty: 0.5 }],
    ];
    const rows: Record<string, StepMetrics[]> = {};
    for (const [name, c, extra] of ablations) {
      const r = await run(`study: ${name}`, join('study', name.replace(/[^\w.=-]+/g, '-')), c, { ...extra, steps: studySteps });
      rows[name] = r.rows;
      const timed = r.rows.filter((x) => x['time/step_s'] !== undefined && x.step > 0);
      study[name] = { ...r.summary, stepSeconds: timed.reduce((a, x) => a + x['time/step_s']!, 0) / Math.max(1, timed.length) };
    }
    await drawFigures(join(out, 'study', 'plots'), [...COMPARE, { file: 'step_time', title: 'Step time (s)', series: { step: 'time/step_s' } }], rows);
  }

  const summary: DemoSummary = { torl: torl.summary, noTool: noTool?.summary ?? null, ...(study ? { study } : {}), baseModel, seconds: (performance.now() - t0) / 1000 };
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  log(`\n${summaryTable(summary)}\nfigures: ${join(out, 'plots')}  ·  summary: ${join(out, 'summary.json')}  ·  replay a run: torl train ${join(out, 'torl', 'config.json')}`);
  return summary;
}

/** The table printed at the end. */
export function summaryTable(s: DemoSummary): string {
  const pct = (x: number | null) => (x === null ? '   –' : `${(100 * x).toFixed(0).padStart(3)}%`);
  const line = (name: string, r: RunSummary) => `${name.padEnd(24)} ${pct(r.initial.toolCallRate)} → ${pct(r.final.toolCallRate)}    ${pct(r.initial.accuracy)} → ${pct(r.final.accuracy)}    ${pct(r.val.initial)} → ${pct(r.val.final)}   ${r.seconds.toFixed(0).padStart(4)} s`;
  const rows = [`${''.padEnd(24)} tool-call rate   accuracy (train)  accuracy (test)  time`, line('ToRL (C = 1)', s.torl)];
  if (s.noTool) rows.push(line('no tool (C = 0)', s.noTool));
  for (const [name, r] of Object.entries(s.study ?? {})) rows.push(line(`study ${name}`, r));
  rows.push(`total ${s.seconds.toFixed(0)} s (base model ${s.baseModel.cached ? 'cached' : `built in ${s.baseModel.seconds.toFixed(0)} s`})`);
  return rows.join('\n');
}
