// Measuring a demo model with the real pieces: Rollout on the Engine with the PythonSandbox, each
// sample graded by ToRL's reward (\boxed{} extraction + equivalence): tool-call rate and accuracy,
// overall and split by whether the sample called the interpreter.
import type { Example } from '../data/index.js';
import { Engine } from '../engine/index.js';
import { Model } from '../model/index.js';
import { torlReward } from '../reward/index.js';
import { Rollout } from '../rollout/index.js';
import { PythonSandbox, type CodeRunner } from '../sandbox/index.js';
import { loadTokenizer } from '../tokenizer/index.js';

export interface MeasureOptions {
  /** Samples per problem. Default 4. */
  samples?: number;
  seed?: number;
  /** Default 1 (the base model as RL starts from it). */
  temperature?: number;
  /** ToRL's C. Default 1. */
  maxToolCalls?: number;
  /** Default 160. */
  maxResponseTokens?: number;
  /** A sandbox to use (else a PythonSandbox of 2 workers is started and closed). */
  sandbox?: CodeRunner;
}

export interface DemoMeasurement {
  samples: number;
  /** Share of samples with at least one tool call. */
  toolCallRate: number;
  /** Share of samples graded correct (reward +1). */
  accuracy: number;
  /** Accuracy among samples that called the tool (null when none did). */
  accuracyWithTool: number | null;
  /** Accuracy among samples that did not (null when all did). */
  accuracyWithoutTool: number | null;
  /** Accuracy per data source. */
  accuracyBySource: Record<string, number>;
  responseTokensMean: number;
  seconds: number;
}

type Problem = Pick<Example, 'prompt' | 'answer' | 'dataSource'> & { promptTokenIds?: number[] };

const share = (xs: boolean[]): number | null => (xs.length ? xs.filter(Boolean).length / xs.length : null);

/** Sample every problem `samples` times from the HF model directory `dir` and grade the answers. */
export async function measureDemoModel(dir: string, examples: readonly Problem[], opts: MeasureOptions = {}): Promise<DemoMeasurement> {
  const { samples = 4, seed = 0, temperature = 1, maxToolCalls = 1, maxResponseTokens = 160 } = opts;
  if (examples.length === 0) throw new Error('measureDemoModel: no examples');
  const t0 = performance.now();
  const tokenizer = await loadTokenizer(dir);
  const model = await Model.load(dir);
  const sandbox = opts.sandbox ?? new PythonSandbox({ workers: 2 });
  const engine = new Engine(model, { tokenizer, maxNumSeqs: 256, kvCacheTokens: 256 * 384, maxModelLen: 384 });
  try {
    const rollout = new Rollout(engine, { tokenizer, sandbox, maxToolCalls, maxResponseTokens });
    const prompts = examples.map((e) => e.promptTokenIds ?? tokenizer.encode(e.prompt));
    const { samples: out, stats } = await rollout.generate(prompts, { n: samples, temperature, seed });
    const graded = await Promise.all(out.map(async (s) => ({ s, ok: (await torlReward(s.text, examples[s.promptIndex]!.answer)).reward > 0 })));
    const bySource: Record<string, boolean[]> = {};
    for (const g of graded) (bySource[examples[g.s.promptIndex]!.dataSource] ??= []).push(g.ok);
    return {
      samples: out.length,
      toolCallRate: stats.toolCallRate,
      accuracy: share(graded.map((g) => g.ok)) ?? 0,
      accuracyWithTool: share(graded.filter((g) => g.s.toolCalls.length > 0).map((g) => g.ok)),
      accuracyWithoutTool: share(graded.filter((g) => g.s.toolCalls.length === 0).map((g) => g.ok)),
      accuracyBySource: Object.fromEntries(Object.entries(bySource).map(([k, v]) => [k, share(v) ?? 0])),
      responseTokensMean: stats.responseLengthMean,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    engine.dispose();
    if (!opts.sandbox) await sandbox.close();
  }
}
