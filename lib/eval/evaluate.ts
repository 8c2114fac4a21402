// torl.evaluate: the paper's evaluation protocol over the shipped benchmarks (or any test set) —
// greedy decoding, the tir_base_0309 template, the training rollout's tool loop with C = 1, the
// project's grader — or the no-tool protocol for base models; k samples per problem for pass@k.
// Every problem is submitted to one engine at once (continuous batching; a sample waiting for
// the sandbox never holds the others back) and graded as its samples finish. With an output
// folder, each finished problem is appended to OUT/samples.jsonl, and a rerun resumes from it.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ColumnMap, TemplateSpec } from '../data/index.js';
import { deriveSeed, Engine, type EngineOptions } from '../engine/index.js';
import { writeFileAtomic } from '../model/atomic.js';
import { Model } from '../model/index.js';
import { torlReward, type RewardFunction, type RewardResult } from '../reward/index.js';
import { phaseBar } from '../rl/progress.js';
import { Rollout, type RolloutSample } from '../rollout/index.js';
import { PythonSandbox, type CodeRunner, type PythonSandboxOptions } from '../sandbox/index.js';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { PAPER_BENCHMARKS } from './benchmarks.js';
import { evalMetrics, type EvalMetrics } from './metrics.js';
import { loadProblems, type EvalProblem } from './problems.js';
import { appendRecords, completeProblems, readRecords, toRecord, type EvalRecord } from './records.js';
import { formatDetails, formatTable } from './table.js';

export interface EvaluateOptions {
  /** A local Hugging Face model directory, or a loaded Model (then `tokenizer` is required). */
  model: string | Model;
  /** A Tokenizer or the directory of tokenizer.json; default the model's directory. */
  tokenizer?: string | Tokenizer;
  /** For a model directory: where and how to load it (default cpu, the checkpoint's dtype). */
  device?: string;
  dtype?: 'f32' | 'bf16';
  /** Shipped benchmarks (see BENCHMARKS); default the paper's five, or none when `data` is given. */
  benchmarks?: readonly string[];
  /** Other test sets: jsonl / parquet / json files (paths, directories, globs) with problem and answer columns. */
  data?: readonly string[];
  /** Where the fields are in `data` rows (see torl.loadDataset). */
  columns?: ColumnMap;
  /** The first `limit` problems of each benchmark and data argument. */
  limit?: number;
  /** false: the no-tool protocol (no interpreter, template 'no_tool'). Default true. */
  tools?: boolean;
  /** Tool calls per response (ToRL's C) when tools are on; default 1. */
  maxToolCalls?: number;
  /** Prompt template; default 'tir_base_0309' with tools, 'no_tool' without. */
  template?: TemplateSpec;
  /** Samples per problem (pass@k); default 1. More than one needs temperature > 0. */
  samples?: number;
  /** Default 0: greedy, the paper's protocol. */
  temperature?: number;
  topP?: number;
  /** Keys every sample's draws by (seed, problem key): the same samples whatever else runs, resumed or not. Default 0. */
  seed?: number;
  /** Response tokens at most, model and tool-output tokens together; default 3072 (ToRL's). */
  maxResponseTokens?: number;
  /** Tool output kept per call (characters, head … tail); default 256 (ToRL's). */
  observationMaxChars?: number;
  /** The grader; default torl.reward.torlReward (a sample is correct when the grade's reason is match:…). */
  reward?: RewardFunction;
  /** A CodeRunner to use (the caller closes it), or options for the PythonSandbox evaluate starts. */
  sandbox?: CodeRunner | PythonSandboxOptions;
  /** Engine sizing. */
  engine?: Pick<EngineOptions, 'kvCacheTokens' | 'maxNumSeqs' | 'maxBatchTokens' | 'memoryFraction'>;
  /** Output folder: config.json, samples.jsonl (appended per problem; an eval resumes from it), results.json. */
  out?: string;
  /** Progress bar; default when stdout is a TTY. */
  progress?: boolean;
  /** Lines saying what happens (resume, a benchmark done, where results went); default none. */
  log?: (line: string) => void;
}

/** What decides a sample's response: an output folder resumes only an eval with the same protocol. */
export interface EvalProtocol {
  model: string;
  tokenizer: string;
  template: string;
  maxToolCalls: number;
  temperature: number;
  topP: number;
  seed: number;
  maxResponseTokens: number;
  observationMaxChars: number;
  reward: string;
}

export interface EvalResult {
  protocol: EvalProtocol;
  /** Samples per problem. */
  samples: number;
  metrics: EvalMetrics;
  /** Every graded sample of this eval's problems (resumed ones included), problem by problem in input order. */
  records: EvalRecord[];
  /** Problems taken from the dump, and generated now. */
  resumedProblems: number;
  generatedProblems: number;
  /** Of the generation done now: wall time, tokens sampled by the model, their rate. */
  throughput: { wallS: number; sampledTokens: number; tokensPerS: number; samplesPerS: number };
  /** The paper-style table and the per-benchmark details, as printed by torl eval. */
  table: string;
  details: string;
  outDir: string | null;
}

/** FNV-1a of a problem key: the index its sampling seed is derived with. */
function keyIndex(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const whole = (name: string, v: number, min: number): number => {
  if (!Number.isInteger(v) || v < min) throw new Error(`evaluate: ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
};

async function isDirWith(dir: string, file: string): Promise<boolean> {
  return stat(join(dir, file)).then((s) => s.isFile(), () => false);
}

/** Evaluate a model; see EvaluateOptions for the protocol's settings and their defaults. */
export async function evaluate(options: EvaluateOptions): Promise<EvalResult> {
  const o = options;
  const log = o.log ?? (() => {});
  const tools = o.tools ?? true;
  const maxToolCalls = tools ? whole('maxToolCalls', o.maxToolCalls ?? 1, 0) : 0;
  const k = whole('samples', o.samples ?? 1, 1);
  const temperature = o.temperature ?? 0;
  if (!(temperature >= 0)) throw new Error(`evaluate: temperature must be ≥ 0, got ${temperature}`);
  if (k > 1 && temperature === 0) throw new Error(`evaluate: ${k} samples per problem need temperature > 0 (greedy samples are all the same)`);
  const topP = o.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new Error(`evaluate: topP must be in (0, 1], got ${topP}`);
  const seed = whole('seed', o.seed ?? 0, 0);
  const maxResponseTokens = whole('maxResponseTokens', o.maxResponseTokens ?? 3072, 1);
  const observationMaxChars = whole('observationMaxChars', o.observationMaxChars ?? 256, 1);
  if (o.limit !== undefined) whole('limit', o.limit, 1);
  const template = o.template ?? (tools ? 'tir_base_0309' : 'no_tool');
  const benchmarks = o.benchmarks ?? (o.data?.length ? [] : PAPER_BENCHMARKS);
  if (benchmarks.length === 0 && !o.data?.length) throw new Error('evaluate: nothing to evaluate (give benchmarks or data)');

  // The model and tokenizer: checked before anything is loaded.
  let modelLabel: string;
  if (typeof o.model === 'string') {
    modelLabel = resolve(o.model);
    const isDir = await stat(modelLabel).then((s) => s.isDirectory(), () => false);
    if (!isDir || !(await isDirWith(modelLabel, 'config.json'))) throw new Error(`model: '${o.model}' is not a directory with config.json (torl evaluates local Hugging Face model directories)`);
  } else {
    if (!(o.model instanceof Model)) throw new Error('evaluate: model must be a directory path or a torl.Model');
    if (o.tokenizer === undefined) throw new Error('evaluate: a loaded Model needs options.tokenizer (a Tokenizer or the directory of tokenizer.json)');
    modelLabel = '(in-memory Model)';
  }
  let tokenizer: Tokenizer;
  let tokenizerLabel: string;
  if (o.tokenizer !== undefined && typeof o.tokenizer !== 'string') {
    tokenizer = o.tokenizer;
    tokenizerLabel = '(Tokenizer object)';
  } else {
    tokenizerLabel = resolve(o.tokenizer ?? (o.model as string));
    if (!(await isDirWith(tokenizerLabel, 'tokenizer.json'))) throw new Error(`tokenizer: '${tokenizerLabel}' has no tokenizer.json${o.tokenizer === undefined ? ' (give the tokenizer directory)' : ''}`);
    tokenizer = await loadTokenizer(tokenizerLabel);
  }
  const protocol: EvalProtocol = {
    model: modelLabel,
    tokenizer: tokenizerLabel,
    template: typeof template === 'function' ? '(function)' : template,
    maxToolCalls,
    temperature,
    topP,
    seed,
    maxResponseTokens,
    observationMaxChars,
    reward: o.reward === undefined || o.reward === torlReward ? 'torl' : o.reward.name || '(function)',
  };
  const problems = await loadProblems({ benchmarks, data: o.data ?? [], columns: o.columns, template, tokenizer, limit: o.limit });
  const order = [...new Set(problems.map((p) => p.benchmark))];

  // Resume: the dump's complete problems under the same protocol.
  const outDir = o.out === undefined ? null : resolve(o.out);
  const dump = outDir ? join(outDir, 'samples.jsonl') : null;
  let done = new Map<string, EvalRecord[]>();
  if (outDir && dump) {
    await mkdir(outDir, { recursive: true });
    const configFile = join(outDir, 'config.json');
    const saved = await readFile(configFile, 'utf8').then((t) => JSON.parse(t) as { protocol?: EvalProtocol }, () => null);
    if (saved?.protocol) {
      const diff = (Object.keys(protocol) as (keyof EvalProtocol)[]).filter((f) => JSON.stringify(saved.protocol![f]) !== JSON.stringify(protocol[f]));
      if (diff.length) throw new Error(`out: '${outDir}' holds an eval with another protocol (${diff.map((f) => `${f}: ${JSON.stringify(saved.protocol![f])} there, ${JSON.stringify(protocol[f])} now`).join('; ')}); choose another folder or delete it`);
    }
    await writeFileAtomic(configFile, `${JSON.stringify({ protocol, samples: k }, null, 2)}\n`);
    done = completeProblems(await readRecords(dump), k);
    // The dump keeps complete problems only (a torn line or a half-graded problem goes), in their order.
    await writeFileAtomic(dump, [...done.values()].flat().map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
  const todo = problems.filter((p) => !done.has(p.key));
  const resumed = problems.length - todo.length;
  if (resumed > 0) log(`resuming from ${dump}: ${resumed} of ${problems.length} problems already graded`);

  const fresh = new Map<string, EvalRecord[]>();
  let throughput = { wallS: 0, sampledTokens: 0, tokensPerS: 0, samplesPerS: 0 };
  if (todo.length > 0) throughput = await generate(todo, fresh, { o, tokenizer, tools: maxToolCalls, k, temperature, topP, seed, maxResponseTokens, observationMaxChars, dump, log });

  const records = problems.flatMap((p) => done.get(p.key) ?? fresh.get(p.key)!);
  const metrics = evalMetrics(records, order);
  const label = typeof o.model === 'string' ? o.model.replace(/\/+$/, '').split('/').pop()! : 'this model';
  const result: EvalResult = {
    protocol,
    samples: k,
    metrics,
    records,
    resumedProblems: resumed,
    generatedProblems: todo.length,
    throughput,
    table: formatTable(metrics, `${label} (torl)`, order.some((b) => (PAPER_BENCHMARKS as readonly string[]).includes(b))),
    details: formatDetails(metrics),
    outDir,
  };
  if (outDir) {
    const file = join(outDir, 'results.json');
    await writeFileAtomic(file, `${JSON.stringify({ protocol, samples: k, problems: problems.length, ...metrics, throughput, resumedProblems: resumed }, null, 2)}\n`);
    log(`results → ${file}, samples → ${dump}`);
  }
  return result;
}

interface GenerateContext {
  o: EvaluateOptions;
  tokenizer: Tokenizer;
  tools: number;
  k: number;
  temperature: number;
  topP: number;
  seed: number;
  maxResponseTokens: number;
  observationMaxChars: number;
  dump: string | null;
  log: (line: string) => void;
}

// Generate and grade `todo`, every problem in flight at once on one engine; records go to `into` (and the dump).
async function generate(todo: EvalProblem[], into: Map<string, EvalRecord[]>, c: GenerateContext): Promise<EvalResult['throughput']> {
  const { o, tokenizer, k } = c;
  const model = typeof o.model === 'string' ? await Model.load(o.model, { device: o.device, dtype: o.dtype }) : o.model;
  if (tokenizer.vocabSize > model.config.vocabSize) throw new Error(`model: the tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${model.config.vocabSize}`);
  const engine = new Engine(model, { tokenizer, seed: c.seed, ...o.engine });
  const long = todo.filter((p) => p.promptTokenIds.length >= engine.maxModelLen);
  if (long.length) {
    engine.dispose();
    throw new Error(`${long.length} prompt(s) do not fit the model's context of ${engine.maxModelLen} tokens (e.g. ${long[0]!.key}, ${long[0]!.promptTokenIds.length} tokens)`);
  }
  const given = o.sandbox !== undefined && typeof (o.sandbox as CodeRunner).run === 'function';
  const sandbox: CodeRunner = given ? (o.sandbox as CodeRunner) : new PythonSandbox(o.sandbox as PythonSandboxOptions | undefined);
  const rollout = new Rollout(engine, { tokenizer, sandbox, maxToolCalls: c.tools, maxResponseTokens: c.maxResponseTokens, observation: { maxChars: c.observationMaxChars } });
  const reward = o.reward ?? torlReward;

  const total = todo.length * k;
  const bars = o.progress ?? process.stdout.isTTY === true;
  const bar = phaseBar(bars, 'eval', total, 'samples');
  const left = new Map<string, number>();
  for (const p of todo) left.set(p.benchmark, (left.get(p.benchmark) ?? 0) + 1);
  const t0 = performance.now();
  const sampled0 = engine.stats().sampledTokens;
  let samplesDone = 0, correct = 0;
  const inFlight = new Map<number, number>();
  let writes: Promise<void> = Promise.resolve();
  let sampledTokens = 0;
  const show = () => {
    const s = (performance.now() - t0) / 1000 || 1;
    const tools = [...inFlight.values()].reduce((a, x) => a + x, 0);
    bar.update(samplesDone, `acc ${samplesDone ? ((100 * correct) / samplesDone).toFixed(1) : '–'}% | ${((engine.stats().sampledTokens - sampled0) / s).toFixed(0)} tok/s | ${tools} tool calls running`);
  };
  try {
    await Promise.all(
      todo.map(async (p, i) => {
        const grades = new Map<RolloutSample, Promise<RewardResult>>();
        const { samples } = await rollout.generate(
          [p.promptTokenIds],
          { n: k, temperature: c.temperature, topP: c.topP, seed: deriveSeed(c.seed, keyIndex(p.key)) },
          {
            onSample: (s) => grades.set(s, reward(s.text, p.answer)),
            onProgress: (q) => {
              inFlight.set(i, q.toolCallsInFlight);
              show();
            },
          },
        );
        inFlight.delete(i);
        const rewards = await Promise.all(samples.map((s) => grades.get(s)!));
        const records = samples.map((s, j) => toRecord(p, s, rewards[j]!));
        into.set(p.key, records);
        samplesDone += records.length;
        correct += records.filter((r) => r.correct).length;
        show();
        if (c.dump) {
          const file = c.dump;
          writes = writes.then(() => appendRecords(file, records));
          await writes;
        }
        const n = left.get(p.benchmark)! - 1;
        left.set(p.benchmark, n);
        if (n === 0 && !bars) {
          const mine = [...into.values()].flat().filter((r) => r.benchmark === p.benchmark);
          c.log(`${p.benchmark} done: ${mine.length} samples generated now, ${((100 * mine.filter((r) => r.correct).length) / mine.length).toFixed(1)}% of them correct`);
        }
      }),
    );
    sampledTokens = engine.stats().sampledTokens - sampled0;
  } finally {
    bar.stop();
    engine.dispose();
    if (!given) await sandbox.close();
  }
  const wallS = (performance.now() - t0) / 1000;
  return { wallS, sampledTokens, tokensPerS: sampledTokens / wallS, samplesPerS: total / wallS };
}
