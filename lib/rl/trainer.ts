// The GRPO trainer (ToRL's recipe, in-process): each step takes a batch of prompts, runs the
// tool-integrated rollout on the engine that shares the model's weights, grades responses as
// they finish, normalises advantages per group, and makes the policy update; validation,
// checkpoints, metrics, sample dumps and plots go to the output folder.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Dataset, loadDataset, type Example } from '../data/index.js';
import { deriveSeed, Engine } from '../engine/index.js';
import { AdamW, Model } from '../model/index.js';
import { writeFileAtomic } from '../model/atomic.js';
import { rewardFunctions, type RewardFunction, type RewardResult } from '../reward/index.js';
import { Rollout, type RolloutSample } from '../rollout/index.js';
import { PythonSandbox, type CodeRunner } from '../sandbox/index.js';
import { loadTokenizer, type Tokenizer } from '../tokenizer/index.js';
import { groupAdvantages } from './advantages.js';
import { latestCheckpoint, readCheckpoint, saveModelDir, writeCheckpoint, writeDirAtomic, type TrainerState } from './checkpoint.js';
import { resolveTrainerConfig, type TrainerConfig, type TrainerConfigInput } from './config.js';
import { appendMetrics, isCorrect, rewriteMetrics, sampleMetrics, type StepMetrics } from './metrics.js';
import { drawFigures, TRAINING_FIGURES } from './plots.js';
import { phaseBar } from './progress.js';
import { writeSamples } from './samples.js';
import { policyUpdate, responseLogprobs, type UpdateStats } from './update.js';
import type { TrainSequence } from './pack.js';

export interface TrainerOptions {
  /** A CodeRunner to use instead of the PythonSandbox the config describes (the caller closes it). */
  sandbox?: CodeRunner;
  /** Replaces the reward function named by config.reward.function. */
  rewardFunction?: RewardFunction;
  /** Continue from the last complete checkpoint in the output folder. */
  resume?: boolean;
  /** Where summary lines go; default console.log. */
  log?: (line: string) => void;
  /** Progress bars; default: when stdout is a TTY. */
  progress?: boolean;
}

/** What one step did: its metrics row and the graded samples it trained on. */
export interface StepReport {
  metrics: StepMetrics;
  examples: Example[];
  samples: RolloutSample[];
  rewards: RewardResult[];
  advantages: Float32Array;
}

export interface TrainResult {
  /** Steps completed (the checkpoint's step when resumed, plus this run's). */
  steps: number;
  metrics: StepMetrics[];
  outDir: string;
  /** The final model's HF directory (OUT/model), written when the run completed. */
  modelDir: string | null;
  /** stop() ended the run early (after a checkpoint). */
  stopped: boolean;
}

interface Parts {
  tokenizer: Tokenizer;
  tokenizerDir: string;
  train: Dataset;
  val: Dataset | null;
  model: Model;
  optimizer: AdamW;
  ref: Model | null;
  engine: Engine;
  sandbox: CodeRunner;
  ownSandbox: boolean;
  rollout: Rollout;
  reward: RewardFunction;
}

export class GrpoTrainer {
  readonly config: TrainerConfig;
  readonly outDir: string;
  private readonly options: TrainerOptions;
  private parts: Parts | null = null;
  private stepsDone = 0;
  private metrics: StepMetrics[] = [];
  private stopRequested = false;

  constructor(config: TrainerConfigInput | TrainerConfig, options: TrainerOptions = {}) {
    this.config = resolveTrainerConfig(config);
    if (!(this.config.rollout.temperature > 0)) throw new Error('config: rollout.temperature must be > 0 for training (validation is greedy by rollout.val.temperature)');
    this.outDir = resolve(this.config.trainer.outDir);
    this.options = options;
  }

  /** Steps the run makes in all: trainer.totalSteps, or totalEpochs over the training set. */
  get totalSteps(): number {
    const { totalSteps, totalEpochs } = this.config.trainer;
    return totalSteps ?? totalEpochs * this.batchesPerEpoch();
  }

  /** Steps completed so far. */
  get step(): number {
    return this.stepsDone;
  }

  /** The model being trained (live weights, shared with the engine). */
  get model(): Model {
    return this.need().model;
  }

  /**
   * Load everything a step needs and check it (tokenizer, datasets, model, sandbox), or resume from
   * the last checkpoint: every problem is reported here, before any step runs. Called by train().
   */
  async setup(): Promise<void> {
    if (this.parts) return;
    const c = this.config;
    const tokenizerDir = resolve(c.model.tokenizer ?? c.model.path);
    await stat(join(resolve(c.model.path), 'config.json')).catch(() => {
      throw new Error(`model.path: '${c.model.path}' is not a directory with config.json (torl loads local Hugging Face directories)`);
    });
    await stat(join(tokenizerDir, 'tokenizer.json')).catch(() => {
      throw new Error(`model: '${tokenizerDir}' has no tokenizer.json (set model.tokenizer to the directory that has it)`);
    });
    const tokenizer = await loadTokenizer(tokenizerDir);
    const load = async (paths: string | string[], field: string) => {
      const ds = await loadDataset(paths, { template: c.data.template, columns: c.data.columns, maxPromptTokens: c.data.maxPromptTokens, tokenizer }).catch((e: Error) => {
        throw new Error(`${field}: ${e.message}`);
      });
      if (ds.size === 0) throw new Error(`${field}: no examples left (${ds.filtered.length} longer than data.maxPromptTokens = ${c.data.maxPromptTokens})`);
      return ds;
    };
    const train = await load(c.data.train, 'data.train');
    if (c.data.trainBatchSize > train.size) throw new Error(`data.trainBatchSize = ${c.data.trainBatchSize} exceeds the ${train.size} training examples`);
    let val = c.data.val === undefined ? null : await load(c.data.val, 'data.val');
    if (val && c.data.maxValExamples !== undefined) val = new Dataset(val.examples.slice(0, c.data.maxValExamples));

    const checkpoint = this.options.resume ? await latestCheckpoint(this.outDir) : null;
    if (!this.options.resume) await this.refuseExistingRun();
    let state: TrainerState | null = null;
    const model = await Model.load(checkpoint ? join(checkpoint.dir, 'model') : resolve(c.model.path), { device: c.model.device, dtype: c.model.dtype });
    if (tokenizer.vocabSize > model.config.vocabSize) throw new Error(`model: the tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${model.config.vocabSize}`);
    const a = c.actor;
    const optimizer = new AdamW(model, { lr: a.lr, betas: a.betas, eps: a.eps, weightDecay: a.weightDecay, maxGradNorm: a.maxGradNorm, schedule: a.schedule });
    if (checkpoint) {
      const ck = await readCheckpoint(checkpoint.dir);
      this.checkSameRun(ck.state.config);
      optimizer.loadState(ck.optimizer);
      state = ck.state;
    }
    const ref = a.klCoef > 0 ? await Model.load(resolve(c.model.path), { device: c.model.device, dtype: c.model.dtype }) : null;
    const r = c.rollout;
    const engine = new Engine(model, {
      tokenizer,
      kvCacheTokens: r.kvCacheTokens,
      maxNumSeqs: r.maxNumSeqs,
      maxBatchTokens: r.maxBatchTokens,
      memoryFraction: r.memoryFraction,
      maxModelLen: Math.min(model.config.maxPositionEmbeddings, c.data.maxPromptTokens + r.maxResponseTokens),
      seed: c.trainer.seed,
    });
    const ownSandbox = !this.options.sandbox;
    const sandbox = this.options.sandbox ?? new PythonSandbox(Object.fromEntries(Object.entries(c.sandbox).filter(([, v]) => v !== undefined)));
    if (sandbox instanceof PythonSandbox) {
      await sandbox.info().catch(async (e: Error) => {
        engine.dispose();
        throw new Error(`sandbox: the Python sandbox cannot start: ${e.message}`);
      });
    }
    const rollout = new Rollout(engine, { tokenizer, sandbox, maxToolCalls: r.maxToolCalls, maxResponseTokens: r.maxResponseTokens, observation: { maxChars: r.observationMaxChars }, feedErrors: r.feedErrors, timeoutMs: r.toolTimeoutMs });
    const reward = this.options.rewardFunction ?? rewardFunctions[c.reward.function];
    this.parts = { tokenizer, tokenizerDir, train, val, model, optimizer, ref, engine, sandbox, ownSandbox, rollout, reward };

    await mkdir(join(this.outDir, 'samples'), { recursive: true });
    await writeFileAtomic(join(this.outDir, 'config.json'), `${JSON.stringify(c, null, 2)}\n`);
    if (state) {
      this.stepsDone = state.step;
      this.metrics = state.metrics as StepMetrics[];
      await rewriteMetrics(this.metricsFile, this.metrics);
      this.log(`resumed from ${checkpoint!.dir} (step ${state.step})`);
    } else {
      await rewriteMetrics(this.metricsFile, []);
    }
  }

  /** Run to totalSteps (or until stop()): steps, validation, checkpoints, the final model in OUT/model. */
  async train(): Promise<TrainResult> {
    await this.setup();
    const c = this.config.trainer;
    const total = this.totalSteps;
    this.log(`training ${total} steps (${this.config.data.trainBatchSize} prompts × ${this.config.rollout.n} samples per step) → ${this.outDir}`);
    if (this.stepsDone === 0 && c.valBeforeTrain && this.need().val) {
      const row = { step: 0, ...(await this.validate()) } as StepMetrics;
      await this.record(row);
    }
    let lastCheckpoint = this.stepsDone;
    while (this.stepsDone < total && !this.stopRequested) {
      await this.runStep();
      if (this.stepsDone % c.saveFreq === 0 || this.stepsDone === total || this.stopRequested) {
        await this.checkpoint();
        lastCheckpoint = this.stepsDone;
      }
    }
    if (lastCheckpoint !== this.stepsDone) await this.checkpoint();
    let modelDir: string | null = null;
    if (this.stepsDone >= total) {
      modelDir = join(this.outDir, 'model');
      const { model, tokenizerDir } = this.need();
      await writeDirAtomic(modelDir, (tmp) => saveModelDir(tmp, model, tokenizerDir));
      this.log(`model → ${modelDir}`);
    }
    return { steps: this.stepsDone, metrics: this.metrics, outDir: this.outDir, modelDir, stopped: this.stopRequested && this.stepsDone < total };
  }

  /** Finish the step under way, checkpoint, and return from train(). */
  stop(): void {
    this.stopRequested = true;
  }

  /** One training step (and the validation due after it); train() calls this. */
  async runStep(): Promise<StepReport> {
    const p = this.need();
    const c = this.config;
    const step = this.stepsDone + 1;
    const tStep = performance.now();
    const examples = this.examplesFor(step);
    const n = c.rollout.n;
    const bars = this.options.progress ?? process.stdout.isTTY === true;

    // Rollout, graded as samples finish.
    p.engine.resetPrefixCache(); // a fresh cache each step: a resumed run computes the same K/V as an uninterrupted one
    const rewardsBy = new Map<RolloutSample, Promise<RewardResult>>();
    const bar = phaseBar(bars, `step ${step}`, examples.length * n, 'samples');
    const t0 = performance.now();
    const rollout = await p.rollout.generate(
      examples.map((e) => e.promptTokenIds!),
      { n, temperature: c.rollout.temperature, topP: c.rollout.topP, topK: c.rollout.topK, seed: deriveSeed(c.trainer.seed, step) },
      {
        onSample: (s) => rewardsBy.set(s, this.grade(s, examples[s.promptIndex]!)),
        onProgress: (q) => bar.update(q.samplesDone, `${(q.sampledTokens / (q.elapsedMs / 1000 || 1)).toFixed(0)} tok/s, ${q.toolCallsInFlight} tool calls running`),
      },
    );
    bar.stop();
    const rolloutS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const samples = rollout.samples;
    const rewards = await Promise.all(samples.map((s) => rewardsBy.get(s)!));
    const rewardS = (performance.now() - t1) / 1000;

    // Advantages, old (and reference) log-probs, the update(s).
    const advantages = groupAdvantages(rewards.map((r) => r.reward), n, { normAdvByStd: c.algorithm.normAdvByStd, eps: c.algorithm.eps });
    const t2 = performance.now();
    const seqs: TrainSequence[] = samples.map((s, i) => ({ promptTokenIds: s.promptTokenIds, tokenIds: s.tokenIds, lossMask: s.lossMask, oldLogprobs: s.logprobs, advantage: advantages[i]! }));
    const temperature = c.rollout.temperature;
    const a = c.actor;
    const miniPrompts = Math.min(a.ppoMiniBatchSize ?? examples.length, examples.length);
    const updatesPerEpoch = Math.ceil(examples.length / miniPrompts);
    const onPolicy = a.ppoEpochs === 1 && updatesPerEpoch === 1 && c.rollout.topP === 1 && c.rollout.topK <= 0;
    const recompute = a.oldLogprobs === 'recompute' || (a.oldLogprobs === 'auto' && !onPolicy);
    if (recompute) {
      const lb = phaseBar(bars, 'old logp', 1, 'micro-batches');
      const old = await responseLogprobs(p.model, seqs, a.microBatchTokens, temperature, (d, t) => lb.update(d, '', t));
      lb.stop();
      old.forEach((v, i) => (seqs[i]!.oldLogprobs = v));
    }
    if (p.ref) (await responseLogprobs(p.ref, seqs, a.microBatchTokens, temperature)).forEach((v, i) => (seqs[i]!.refLogprobs = v));
    const updates: UpdateStats[] = [];
    for (let epoch = 0; epoch < a.ppoEpochs; epoch++) {
      for (let u = 0; u < updatesPerEpoch; u++) {
        const which: number[] = [];
        for (let q = u * miniPrompts; q < Math.min(examples.length, (u + 1) * miniPrompts); q++) for (let j = 0; j < n; j++) which.push(q * n + j);
        const tb = phaseBar(bars, 'train', 1, 'micro-batches');
        updates.push(await policyUpdate(p.model, p.optimizer, seqs, which, a, temperature, (d, t) => tb.update(d, '', t)));
        tb.stop();
      }
    }
    const trainS = (performance.now() - t2) / 1000;
    const avg = (k: keyof UpdateStats) => updates.reduce((s, x) => s + Number(x[k]), 0) / updates.length;
    this.stepsDone = step;

    const metrics: StepMetrics = {
      step,
      epoch: Math.floor((step - 1) / this.batchesPerEpoch()),
      ...sampleMetrics(samples, rewards, c.rollout.maxResponseTokens),
      'critic/advantages/mean': advantages.reduce((s, x) => s + x, 0) / advantages.length,
      'critic/advantages/max': Math.max(...advantages),
      'critic/advantages/min': Math.min(...advantages),
      'actor/pg_loss': avg('pgLoss'),
      'actor/pg_clipfrac': avg('clipFraction'),
      'actor/ppo_kl': avg('approxKl'),
      'actor/entropy': avg('entropy'),
      ...(p.ref ? { 'actor/kl_loss': avg('klMean') } : {}),
      'actor/grad_norm': avg('gradNorm'),
      'actor/lr': updates[updates.length - 1]!.lr,
      'actor/updates_skipped': updates.filter((x) => x.skipped).length,
      'actor/micro_batches': updates.reduce((s, x) => s + x.microBatches, 0),
      'rollout/tokens_per_s': rollout.stats.tokensPerSecond,
      'rollout/tool_latency_ms': rollout.stats.toolLatencyMeanMs,
      'time/rollout_s': rolloutS,
      'time/reward_s': rewardS,
      'time/train_s': trainS,
    };
    await writeSamples(join(this.outDir, 'samples', `step-${step}.jsonl`), step, examples, samples, rewards, c.trainer.samplesPerStep);
    if (p.val && (step % c.trainer.testFreq === 0 || step === this.totalSteps)) Object.assign(metrics, await this.validate()); // and at the last step, as veRL
    metrics['time/step_s'] = (performance.now() - tStep) / 1000;
    await this.record(metrics);
    this.log(summaryLine(metrics, this.totalSteps));
    return { metrics, examples, samples, rewards, advantages };
  }

  /** Greedy rollout with tools over the validation set: accuracy per data source and their unweighted mean (val/accuracy). */
  async validate(): Promise<Record<string, number>> {
    const p = this.need();
    const c = this.config;
    if (!p.val) throw new Error('validate: the config has no data.val');
    const t0 = performance.now();
    const examples = p.val.examples as Example[];
    const bar = phaseBar(this.options.progress ?? process.stdout.isTTY === true, 'validation', examples.length * c.rollout.val.n, 'samples');
    const rewardsBy = new Map<RolloutSample, Promise<RewardResult>>();
    const { samples } = await p.rollout.generate(
      examples.map((e) => e.promptTokenIds!),
      { n: c.rollout.val.n, temperature: c.rollout.val.temperature, seed: deriveSeed(c.trainer.seed, 0x7a1) },
      { onSample: (s) => rewardsBy.set(s, this.grade(s, examples[s.promptIndex]!)), onProgress: (q) => bar.update(q.samplesDone) },
    );
    bar.stop();
    const rewards = await Promise.all(samples.map((s) => rewardsBy.get(s)!));
    const bySource = new Map<string, number[]>();
    samples.forEach((s, i) => {
      const src = examples[s.promptIndex]!.dataSource;
      bySource.set(src, [...(bySource.get(src) ?? []), isCorrect(rewards[i]!) ? 1 : 0]);
    });
    const out: Record<string, number> = {};
    let sum = 0;
    for (const [src, xs] of [...bySource].sort(([x], [y]) => (x < y ? -1 : 1))) {
      out[`val/${src}/accuracy`] = xs.reduce((a, x) => a + x, 0) / xs.length;
      sum += out[`val/${src}/accuracy`]!;
    }
    const m = sampleMetrics(samples, rewards, c.rollout.maxResponseTokens, 'val/');
    out['val/accuracy'] = sum / bySource.size;
    out['val/tool/call_rate'] = m['val/tool/call_rate']!;
    out['val/response_length/mean'] = m['val/response_length/mean']!;
    out['time/val_s'] = (performance.now() - t0) / 1000;
    await writeSamples(join(this.outDir, 'samples', `val-step-${this.stepsDone}.jsonl`), this.stepsDone, examples, samples, rewards, samples.length);
    return out;
  }

  /** Write OUT/checkpoints/step-N (atomically). */
  async checkpoint(): Promise<string> {
    const p = this.need();
    const state: TrainerState = { version: 1, step: this.stepsDone, seed: this.config.trainer.seed, data: this.position(this.stepsDone + 1), config: this.config, metrics: this.metrics };
    const dir = await writeCheckpoint(this.outDir, p.model, p.tokenizerDir, p.optimizer.state(), state);
    this.log(`checkpoint → ${dir}`);
    return dir;
  }

  /** Stop the sandbox (when the trainer made it) and free the engine's cache. */
  async close(): Promise<void> {
    if (!this.parts) return;
    const { engine, sandbox, ownSandbox } = this.parts;
    this.parts = null;
    engine.dispose();
    if (ownSandbox) await sandbox.close();
  }

  private get metricsFile(): string {
    return join(this.outDir, 'metrics.jsonl');
  }

  private need(): Parts {
    if (!this.parts) throw new Error('GrpoTrainer: call setup() (or train()) first');
    return this.parts;
  }

  private log(line: string): void {
    (this.options.log ?? console.log)(line);
  }

  private grade(s: RolloutSample, e: Example): Promise<RewardResult> {
    return this.need().reward(s.text, e.answer, { codePenalty: this.config.reward.codePenalty, toolErrors: s.toolErrors });
  }

  private batchesPerEpoch(): number {
    const size = this.parts?.train.size;
    if (size === undefined) throw new Error('GrpoTrainer: call setup() (or train()) first');
    return Math.floor(size / this.config.data.trainBatchSize);
  }

  /** The data position of a 1-based step: batch `index` of epoch `epoch` (each epoch its own permutation of (seed, epoch)). */
  private position(step: number): { epoch: number; index: number } {
    const per = this.batchesPerEpoch();
    return { epoch: Math.floor((step - 1) / per), index: (step - 1) % per };
  }

  private examplesFor(step: number): Example[] {
    const { epoch, index } = this.position(step);
    const { train } = this.need();
    const order = this.config.data.shuffle ? train.shuffled(this.config.trainer.seed, epoch) : (train.examples as Example[]);
    const bs = this.config.data.trainBatchSize;
    return order.slice(index * bs, (index + 1) * bs);
  }

  private async record(row: StepMetrics): Promise<void> {
    this.metrics.push(row);
    await appendMetrics(this.metricsFile, row);
    await drawFigures(join(this.outDir, 'plots'), TRAINING_FIGURES, { run: this.metrics });
  }

  /** A fresh run must not write over another run's output. */
  private async refuseExistingRun(): Promise<void> {
    const text = await readFile(this.metricsFile, 'utf8').catch(() => '');
    if (text.trim() !== '' || (await latestCheckpoint(this.outDir))) {
      throw new Error(`trainer.outDir: '${this.outDir}' already holds a run (metrics.jsonl or checkpoints); resume it (--resume) or choose another folder (--out)`);
    }
  }

  /** A resumed run continues the same recipe: only trainer.totalSteps may differ. */
  private checkSameRun(saved: TrainerConfig): void {
    const diff: string[] = [];
    const walk = (a: unknown, b: unknown, path: string) => {
      if (JSON.stringify(a) === JSON.stringify(b)) return;
      if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
        for (const k of new Set([...Object.keys(a), ...Object.keys(b as object)])) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
      } else if (path !== 'trainer.totalSteps') diff.push(`${path} (checkpoint ${JSON.stringify(a)}, now ${JSON.stringify(b)})`);
    };
    walk(saved, this.config, '');
    if (diff.length > 0) throw new Error(`resume: the config differs from the checkpoint's in ${diff.join(', ')}`);
  }
}

/** One readable line per step. */
export function summaryLine(m: StepMetrics, total: number): string {
  const f = (k: string, d = 3) => (m[k] === undefined ? '–' : m[k]!.toFixed(d));
  const val = m['val/accuracy'] === undefined ? '' : ` | val acc ${f('val/accuracy')}`;
  return `step ${m.step}/${total} | reward ${f('reward/mean')} | acc ${f('accuracy/mean')} | tool ${f('tool/call_rate', 2)} (err ${f('tool/error_rate', 2)}) | len ${f('response_length/mean', 0)} | pg_loss ${f('actor/pg_loss', 4)} | grad ${f('actor/grad_norm', 3)}${val} | ${f('time/step_s', 1)} s (rollout ${f('time/rollout_s', 1)}, reward ${f('time/reward_s', 1)}, train ${f('time/train_s', 1)})`;
}
