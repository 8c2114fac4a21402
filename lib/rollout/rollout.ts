// The tool-integrated rollout (ToRL's _tir_generate at the token level, asynchronous):
// every sample decodes on the engine until it writes ```output; then that sample alone
// pauses (the engine holds its cache), the last complete ```python block of what it
// wrote since its last call goes to the sandbox, and the observation
// "\n" + text + "\n```\n" is appended as tokens — prefilled onto the cached context,
// loss mask 0 — before it decodes on. The other samples never wait for it. After
// maxToolCalls calls the stop string no longer pauses: later blocks are written, not run.
//
// ToRL's bugs, fixed here: the token ids are the ones sampled, never re-tokenised
// text; the mask is exactly the observation tokens of every call (not chunk-relative
// offsets that go wrong from the second call on); no sample is dropped when a round
// has no tool call (there are no rounds); nothing ("\n") is appended to a finished
// sample; a run with no output gets a clear marker (formatObservation's), not a fake
// timeout message; a sandbox failure becomes an observation, never a lost sample.
import { deriveSeed, type Engine, type Prompt, type SamplingParams, type StepEvent } from '../engine/index.js';
import { formatObservation } from '../sandbox/index.js';
import type { CodeRunner, RunResult } from '../sandbox/index.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { extractProgram } from './code.js';

/** ToRL's stop string: the model opens the output block it expects the interpreter to fill. */
export const OUTPUT_FENCE = '```output';

export interface RolloutOptions {
  tokenizer: Tokenizer;
  /** Any CodeRunner: PythonSandbox, SandboxFusionClient. */
  sandbox: CodeRunner;
  /** Calls per sample (ToRL's C); 0 = the plain no-tool mode. Default 1 (ToRL's script). */
  maxToolCalls?: number;
  /** Response tokens at most, model and observation tokens together. Default 3072. */
  maxResponseTokens?: number;
  /** Observation text: at most maxChars code points (head … tail). Default 256. */
  observation?: { maxChars?: number };
  /** false: a failed run's observation is the fixed line "Error" instead of its traceback (the paper's ablation). Default true. */
  feedErrors?: boolean;
  /** Per call. Default: the sandbox's. */
  timeoutMs?: number;
}

/** One tool call of a sample. */
export interface ToolCall {
  /** The program run; null when the model stopped at ```output without a complete block (a call used, nothing run). */
  code: string | null;
  result: RunResult | null;
  /** Exactly the text of the tokens [tokenStart, tokenEnd) of tokenIds. */
  observation: string;
  tokenStart: number;
  tokenEnd: number;
  latencyMs: number;
  /** Engine steps run while this call was out (the others kept decoding). */
  stepsWhileWaiting: number;
}

export interface RolloutSample {
  promptIndex: number;
  /** The sample's index among its prompt's n. */
  index: number;
  promptTokenIds: number[];
  /** The response: model tokens and observation tokens. */
  tokenIds: number[];
  /** 0 exactly on observation tokens. */
  lossMask: Uint8Array;
  /** Sampling log-probs of model tokens; 0 on observation tokens. */
  logprobs: Float32Array;
  /** decode(tokenIds). */
  text: string;
  toolCalls: ToolCall[];
  finishReason: 'stop' | 'length';
  /** Calls whose run did not end with status ok (or nothing ran). */
  toolErrors: number;
  /** Milliseconds spent paused for tool calls. */
  pausedMs: number;
  /** The last \boxed{} of the response comes after its last tool call's output. */
  answerAfterTool: boolean;
}

export interface RolloutStats {
  samples: number;
  toolCalls: number;
  toolErrors: number;
  /** Share of samples with at least one tool call. */
  toolCallRate: number;
  /** Share of samples whose final answer came after a tool call. */
  answerAfterToolRate: number;
  /** Milliseconds paused for tools, summed over samples. */
  pausedMs: number;
  responseLengthMean: number;
  wallMs: number;
  /** Engine steps and sampled tokens during this rollout, and tokens per second of wall time. */
  steps: number;
  sampledTokens: number;
  tokensPerSecond: number;
  toolLatencyMeanMs: number;
}

/** Where a rollout stands, reported as it goes. */
export interface RolloutProgress {
  samplesDone: number;
  samples: number;
  /** Tool calls running now, and started so far. */
  toolCallsInFlight: number;
  toolCalls: number;
  sampledTokens: number;
  elapsedMs: number;
}

/** Callbacks of one generate call. */
export interface RolloutHooks {
  /** A sample is complete (e.g. grade it while the others decode). */
  onSample?: (sample: RolloutSample) => void;
  /** A sample finished, or a tool call started or ended. */
  onProgress?: (progress: RolloutProgress) => void;
}

export interface RolloutResult {
  samples: RolloutSample[];
  stats: RolloutStats;
}

interface Tracker {
  hooks: RolloutHooks;
  progress: RolloutProgress;
  t0: number;
  sampled0: number;
}

interface Live {
  sample: RolloutSample;
  requestId: string;
  /** Response length when the current chunk began (its code is extracted from there). */
  chunkStart: number;
  callsLeft: number;
  done: boolean;
}

export class Rollout {
  readonly maxToolCalls: number;
  readonly maxResponseTokens: number;
  private readonly tokenizer: Tokenizer;
  private readonly sandbox: CodeRunner;
  private readonly maxChars: number;
  private readonly feedErrors: boolean;
  private readonly timeoutMs: number | undefined;

  constructor(
    readonly engine: Engine,
    options: RolloutOptions,
  ) {
    const int = (name: string, v: number, min: number) => {
      if (!Number.isInteger(v) || v < min) throw new Error(`Rollout: ${name} must be an integer ≥ ${min}, got ${v}`);
      return v;
    };
    if (!options?.tokenizer) throw new Error('Rollout: options.tokenizer is required');
    if (!options.sandbox || typeof options.sandbox.run !== 'function') throw new Error('Rollout: options.sandbox must be a CodeRunner (PythonSandbox, SandboxFusionClient)');
    this.tokenizer = options.tokenizer;
    this.sandbox = options.sandbox;
    this.maxToolCalls = int('maxToolCalls', options.maxToolCalls ?? 1, 0);
    this.maxResponseTokens = int('maxResponseTokens', options.maxResponseTokens ?? 3072, 1);
    this.maxChars = int('observation.maxChars', options.observation?.maxChars ?? 256, 1);
    this.feedErrors = options.feedErrors ?? true;
    this.timeoutMs = options.timeoutMs;
  }

  /**
   * Samples for every prompt (params.n each), prompt by prompt; never throws for a tool failure,
   * rejects when the engine fails (a step's error).
   * With params.seed, prompt p is seeded deriveSeed(seed, p): its samples do not depend on the other prompts.
   */
  async generate(prompts: readonly Prompt[], params: SamplingParams = {}, hooks: RolloutHooks = {}): Promise<RolloutResult> {
    const t0 = performance.now();
    const s0 = this.engine.stats();
    const n = params.n ?? 1;
    const track: Tracker = { hooks, t0, sampled0: s0.sampledTokens, progress: { samplesDone: 0, samples: prompts.length * n, toolCallsInFlight: 0, toolCalls: 0, sampledTokens: 0, elapsedMs: 0 } };
    const base: SamplingParams = {
      ...params,
      maxTokens: this.maxResponseTokens,
      stop: this.maxToolCalls > 0 ? [OUTPUT_FENCE] : [],
      includeStopStrInOutput: true,
    };
    const lives: Live[][] = [];
    const finished: Promise<void>[] = [];
    for (const [promptIndex, prompt] of prompts.entries()) {
      const seeded = params.seed === undefined ? base : { ...base, seed: deriveSeed(params.seed, promptIndex) };
      const requestId = this.engine.addRequest(prompt, seeded, { hold: true });
      const promptTokenIds = this.engine.output(requestId).promptTokenIds;
      const group: Live[] = Array.from({ length: n }, (_, index) => ({
        sample: { promptIndex, index, promptTokenIds, tokenIds: [], lossMask: new Uint8Array(0), logprobs: new Float32Array(0), text: '', toolCalls: [], finishReason: 'length', toolErrors: 0, pausedMs: 0, answerAfterTool: false },
        requestId,
        chunkStart: 0,
        callsLeft: this.maxToolCalls,
        done: false,
      }));
      lives.push(group);
      finished.push(
        new Promise<void>((resolve, reject) => {
          let open = n;
          const markDone = (live: Live) => {
            live.done = true;
            track.progress.samplesDone++;
            hooks.onSample?.(live.sample);
            this.report(track);
            if (--open === 0) {
              unsubscribe();
              this.engine.release(requestId);
              resolve();
            }
          };
          const unsubscribe = this.engine.onEvent(
            requestId,
            (e: StepEvent) => {
              if (e.finishReason === undefined) return;
              const live = group[e.index]!;
              this.onFinish(live, e, track).then((more) => {
                if (!more) markDone(live);
              }, fail);
            },
            (e) => fail(e), // an engine step failed: the rollout cannot finish
          );
          const fail = (e: Error) => {
            unsubscribe();
            reject(e);
          };
        }),
      );
    }
    await Promise.all([...finished, ...lives.map((g) => this.engine.wait(g[0]!.requestId))]);
    const samples = lives.flat().map((l) => l.sample);
    const s1 = this.engine.stats();
    const wallMs = performance.now() - t0;
    const calls = samples.flatMap((s) => s.toolCalls);
    const sampledTokens = s1.sampledTokens - s0.sampledTokens;
    return {
      samples,
      stats: {
        samples: samples.length,
        toolCalls: calls.length,
        toolErrors: samples.reduce((a, s) => a + s.toolErrors, 0),
        toolCallRate: samples.length ? samples.filter((s) => s.toolCalls.length > 0).length / samples.length : 0,
        answerAfterToolRate: samples.length ? samples.filter((s) => s.answerAfterTool).length / samples.length : 0,
        pausedMs: samples.reduce((a, s) => a + s.pausedMs, 0),
        responseLengthMean: samples.length ? samples.reduce((a, s) => a + s.tokenIds.length, 0) / samples.length : 0,
        wallMs,
        steps: s1.steps - s0.steps,
        sampledTokens,
        tokensPerSecond: sampledTokens / (wallMs / 1000),
        toolLatencyMeanMs: calls.length ? calls.reduce((a, c) => a + c.latencyMs, 0) / calls.length : 0,
      },
    };
  }

  // A sample stopped: run its code and continue it (true), or record it as finished (false).
  private async onFinish(live: Live, e: StepEvent, track: Tracker): Promise<boolean> {
    const out = this.engine.output(live.requestId).outputs[live.sample.index]!;
    const s = live.sample;
    s.tokenIds = out.tokenIds;
    const pausing = e.stopReason === OUTPUT_FENCE && live.callsLeft > 0;
    if (!pausing) {
      s.finishReason = e.finishReason === 'length' ? 'length' : 'stop';
      this.finish(s, out.logprobs);
      return false;
    }
    live.callsLeft--;
    const chunk = this.tokenizer.decode(s.tokenIds.slice(live.chunkStart), { skipSpecialTokens: true });
    const code = extractProgram(chunk.slice(0, chunk.lastIndexOf(OUTPUT_FENCE)));
    const start = performance.now();
    const steps0 = this.engine.stats().steps;
    let result: RunResult | null = null;
    let obsTokens: number[] = [];
    let observation = '';
    if (code !== null) {
      track.progress.toolCalls++;
      track.progress.toolCallsInFlight++;
      this.report(track);
      result = await this.run(code);
      track.progress.toolCallsInFlight--;
      this.report(track);
      const text = result.status !== 'ok' && !this.feedErrors ? 'Error' : formatObservation(result, { maxChars: this.maxChars });
      obsTokens = this.tokenizer.encode(`\n${text}\n\`\`\`\n`, { addSpecialTokens: false });
    }
    const room = this.maxResponseTokens - s.tokenIds.length;
    const cut = obsTokens.length >= room; // the observation fills the response: it ends here, 'length'
    if (cut) obsTokens = obsTokens.slice(0, Math.max(0, room));
    observation = this.tokenizer.decode(obsTokens);
    const tokenStart = s.tokenIds.length;
    const latencyMs = performance.now() - start;
    s.toolCalls.push({ code, result, observation, tokenStart, tokenEnd: tokenStart + obsTokens.length, latencyMs, stepsWhileWaiting: this.engine.stats().steps - steps0 });
    s.pausedMs += latencyMs;
    if (code === null || result!.status !== 'ok') s.toolErrors++;
    if (cut || s.tokenIds.length + obsTokens.length + 1 >= this.engine.maxModelLen) {
      s.tokenIds = [...s.tokenIds, ...obsTokens];
      s.finishReason = 'length';
      this.finish(s, [...out.logprobs, ...obsTokens.map(() => 0)]);
      return false;
    }
    live.chunkStart = tokenStart + obsTokens.length;
    this.engine.extend(live.requestId, s.index, obsTokens, {
      maxTokens: this.maxResponseTokens - live.chunkStart,
      stop: live.callsLeft > 0 ? [OUTPUT_FENCE] : [],
    });
    return true;
  }

  private report(track: Tracker): void {
    if (!track.hooks.onProgress) return;
    track.progress.sampledTokens = this.engine.stats().sampledTokens - track.sampled0;
    track.progress.elapsedMs = performance.now() - track.t0;
    track.hooks.onProgress({ ...track.progress });
  }

  private finish(s: RolloutSample, logprobs: number[]): void {
    s.logprobs = Float32Array.from(logprobs);
    s.lossMask = new Uint8Array(s.tokenIds.length).fill(1);
    for (const c of s.toolCalls) s.lossMask.fill(0, c.tokenStart, c.tokenEnd);
    s.text = this.tokenizer.decode(s.tokenIds);
    const last = s.toolCalls[s.toolCalls.length - 1];
    s.answerAfterTool = last !== undefined && s.text.lastIndexOf('\\boxed') >= this.tokenizer.decode(s.tokenIds.slice(0, last.tokenEnd)).length;
  }

  // The sandbox's answer, or a failure turned into a result (an observation, never a thrown rollout).
  private async run(code: string): Promise<RunResult> {
    try {
      return await this.sandbox.run({ code, ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}) });
    } catch (err) {
      return { id: -1, status: 'crashed', returnCode: null, stdout: '', stderr: `Sandbox error: ${(err as Error).message}`, wallMs: 0, cpuMs: null, truncated: false };
    }
  }
}
