// The generation engine (vLLM's LLM / LLMEngine, in-process): a paged KV
// cache allocated once, the block manager and the scheduler over it, and one
// async native call per step (Model.generateStep: K/V scattered into the
// cache, paged attention, the LM head on the sampled rows only, sampling).
// It decodes with the model's own weight memory, so an optimizer step shows
// in the next token it generates.
//
// Two ways to drive it: generate(prompts, params) / stream(prompts, params)
// (vLLM's LLM.generate), which step until their requests finish; or the
// request-level API — addRequest, step, abort — plus extend/release for a
// request added with { hold: true }: its finished samples keep their cache, and
// extend(requestId, index, tokens) appends tokens (a tool's output, say) and
// continues decoding without recomputing what is cached.
import { memoryInfo } from '../backends.js';
import type { Model } from '../model/index.js';
import { empty, Tensor, tensor } from '../tensor.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { BlockManager } from './block-manager.js';
import { resolveSamplingParams, type ResolvedSamplingParams, type SamplingParams } from './sampling-params.js';
import { Scheduler, type SchedulerOutput } from './scheduler.js';
import { Sequence, type FinishReason } from './sequence.js';
import { StopText } from './stop.js';

export interface EngineOptions {
  /** Needed for string prompts, stop strings and `text`; its stopTokenIds are the EOS set. When it has fewer ids than the model's vocab_size (a padded head), only its ids are sampled. */
  tokenizer?: Tokenizer;
  /** Tokens per KV block; default 16. */
  blockSize?: number;
  /** KV cache size in tokens; default: `memoryFraction` of the device's free memory (at most what maxNumSeqs full-length sequences need). */
  kvCacheTokens?: number;
  /** Share of free memory the cache may take when kvCacheTokens is not given (vLLM's gpu_memory_utilization); default 0.9 on a GPU, 0.5 on the CPU. */
  memoryFraction?: number;
  /** Sequences per step at most; default 256. */
  maxNumSeqs?: number;
  /** New tokens per step at most (long prompts are prefilled in chunks); default 2048 on the CPU, 8192 on a GPU. */
  maxBatchTokens?: number;
  /** Prompt plus output tokens at most; default the model's max_position_embeddings (capped by the cache). */
  maxModelLen?: number;
  /** Seeds requests that give no seed of their own (default: random). */
  seed?: number;
  /**
   * CPU: keep a copy of the linear weights packed for the GEMM, made once per weight version, instead of
   * packing them on every call (a quarter of a batch-64 decode step); costs the weights' size in f32.
   * Default true.
   */
  packWeights?: boolean;
}

/** A prompt: text (needs the tokenizer) or token ids. */
export type Prompt = string | readonly number[];

/** One sample of a request (vLLM's CompletionOutput). */
export interface CompletionOutput {
  index: number;
  /** The output tokens (sampled, and appended by extend). */
  tokenIds: number[];
  /** Per output token: its log-prob under logits / temperature before top-k/top-p/min-p (greedy: temperature 1); 0 for appended tokens. */
  logprobs: number[];
  /** The decoded output (with a tokenizer), cut at a matched stop string. */
  text?: string;
  finishReason: FinishReason | undefined;
  /** The stop string or stop token id that ended it; undefined for EOS and length. */
  stopReason?: string | number;
}

/** A request's result (vLLM's RequestOutput). */
export interface RequestOutput {
  requestId: string;
  promptTokenIds: number[];
  outputs: CompletionOutput[];
  /** Every sample finished (or, for a held request, paused with its cache). */
  finished: boolean;
}

/** What one step did for one sample. */
export interface StepEvent {
  requestId: string;
  index: number;
  /** The token sampled this step and its log-prob. */
  tokenId: number;
  logprob: number;
  /** Text that became final this step (with a tokenizer; text a stop string could still cut is held back until it cannot). */
  text?: string;
  /** Set when this token ended the sample. */
  finishReason?: FinishReason;
  stopReason?: string | number;
}

/** A stream event of generate's streaming form: a StepEvent and the prompt it belongs to. */
export interface StreamEvent extends StepEvent {
  promptIndex: number;
}

export interface AddRequestOptions {
  /** Default: a fresh id. */
  requestId?: string;
  /** Finished samples keep their cache until extend or release (the rollout's pause). */
  hold?: boolean;
}

/** Figures of the engine's cache and scheduler. */
export interface EngineStats {
  numBlocks: number;
  blockSize: number;
  freeBlocks: number;
  kvCacheBytes: number;
  /** Bytes of K/V per cached token (all layers). */
  kvBytesPerToken: number;
  maxModelLen: number;
  waiting: number;
  running: number;
  held: number;
  preemptions: number;
  /** Engine steps run and tokens sampled so far. */
  steps: number;
  sampledTokens: number;
  prefixCacheHits: number;
  prefixCacheQueries: number;
}

interface Request {
  id: string;
  promptTokenIds: number[];
  seqs: Sequence[];
  hold: boolean;
  listeners: Set<(e: StepEvent) => void>;
  /** Told when a step fails (the engine cannot go on). */
  errorListeners: Set<(e: Error) => void>;
  waiters: { resolve: (o: RequestOutput) => void; reject: (e: Error) => void }[];
}

/** A 53-bit seed derived from (seed, index), e.g. sample `index` of a request seeded `seed` (two 32-bit mixes). */
export function deriveSeed(seed: number, index: number): number {
  const mix = (x: number, k: number): number => {
    let h = Math.imul(x ^ k, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15), 0x85ebca77);
    return (h ^ (h >>> 13)) >>> 0;
  };
  const lo = seed % 2 ** 32, hi = Math.floor(seed / 2 ** 32);
  const a = mix(lo ^ Math.imul(index, 0x27d4eb2f), hi + 0x165667b1);
  const b = mix(hi ^ a, index + 0x61c88647);
  return (b % 2 ** 21) * 2 ** 32 + a;
}

export class Engine {
  readonly model: Model;
  readonly tokenizer: Tokenizer | undefined;
  readonly blockSize: number;
  readonly maxModelLen: number;
  private readonly blocks: BlockManager;
  private readonly scheduler: Scheduler;
  private readonly kCache: Tensor[];
  private readonly vCache: Tensor[];
  private readonly eos: ReadonlySet<number>;
  private readonly kvBytesPerToken: number;
  private readonly packWeights: boolean;
  private readonly requests = new Map<string, Request>();
  private nextSeqId = 0;
  private nextRequestId = 0;
  private seedState: number;
  /** The step in flight: steps run one after another. */
  private stepping: Promise<unknown> = Promise.resolve();
  private driving = false;
  private stepsRun = 0;
  private tokensSampled = 0;
  /** model.weightVersion when the prefix cache was last valid. */
  private weightVersion: number;

  constructor(model: Model, options: EngineOptions = {}) {
    const where = 'Engine';
    const c = model.config;
    const posInt = (name: keyof EngineOptions, v: unknown): number => {
      if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`${where}: ${name} must be a positive integer, got ${String(v)}`);
      return v as number;
    };
    this.model = model;
    this.tokenizer = options.tokenizer;
    this.blockSize = posInt('blockSize', options.blockSize ?? 16);
    const onGpu = model.device !== 'cpu';
    const maxNumSeqs = posInt('maxNumSeqs', options.maxNumSeqs ?? 256);
    const maxBatchTokens = posInt('maxBatchTokens', options.maxBatchTokens ?? (onGpu ? 8192 : 2048));
    const elem = model.dtype === 'bf16' ? 2 : 4;
    this.kvBytesPerToken = 2 * c.numHiddenLayers * c.numKeyValueHeads * c.headDim * elem;
    const wantLen = posInt('maxModelLen', options.maxModelLen ?? c.maxPositionEmbeddings);
    if (wantLen > c.maxPositionEmbeddings) throw new Error(`${where}: maxModelLen ${wantLen} is past the model's max_position_embeddings (${c.maxPositionEmbeddings})`);
    let kvTokens: number;
    if (options.kvCacheTokens !== undefined) {
      kvTokens = posInt('kvCacheTokens', options.kvCacheTokens);
    } else {
      const fraction = options.memoryFraction ?? (onGpu ? 0.9 : 0.5);
      if (!(fraction > 0 && fraction <= 1)) throw new Error(`${where}: memoryFraction must be in (0, 1], got ${fraction}`);
      const budget = Math.floor((memoryInfo(model.device).free * fraction) / this.kvBytesPerToken);
      kvTokens = Math.min(budget, maxNumSeqs * wantLen);
    }
    const numBlocks = Math.floor(kvTokens / this.blockSize);
    if (numBlocks < 1) throw new Error(`${where}: a KV cache of ${kvTokens} tokens holds no block of ${this.blockSize} tokens`);
    if (options.maxModelLen !== undefined && wantLen > numBlocks * this.blockSize)
      throw new Error(`${where}: maxModelLen ${wantLen} does not fit the KV cache (${numBlocks} blocks of ${this.blockSize} tokens = ${numBlocks * this.blockSize})`);
    this.maxModelLen = Math.min(wantLen, numBlocks * this.blockSize);
    this.blocks = new BlockManager(numBlocks, this.blockSize);
    this.scheduler = new Scheduler(this.blocks, { maxNumSeqs, maxBatchTokens });
    const shape = [numBlocks, this.blockSize, c.numKeyValueHeads, c.headDim];
    const opts = { dtype: model.dtype, device: model.device } as const;
    // Uninitialised: a slot is always written before attention reads it (positions past a sequence's
    // length are masked), and untouched host pages cost no memory until the cache fills.
    this.kCache = Array.from({ length: c.numHiddenLayers }, () => empty(shape, opts));
    this.vCache = Array.from({ length: c.numHiddenLayers }, () => empty(shape, opts));
    const eos = options.tokenizer?.stopTokenIds ?? (c.eosTokenId === null ? [] : [c.eosTokenId].flat());
    this.eos = new Set(eos);
    this.seedState = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.weightVersion = model.weightVersion;
    this.packWeights = options.packWeights ?? true;
  }

  /** Queues a request; returns its id. Bad input throws here, before anything is queued. */
  addRequest(prompt: Prompt, params?: SamplingParams, options: AddRequestOptions = {}): string {
    const where = 'Engine.addRequest';
    const ids = this.promptIds(prompt, where);
    const p = this.resolve(params, where);
    const id = options.requestId ?? `${this.nextRequestId++}`;
    if (this.requests.has(id)) throw new Error(`${where}: request id '${id}' is already in use`);
    this.enqueue(id, ids, p, options.hold ?? false);
    return id;
  }

  /** Runs one engine step: schedules, computes, samples; returns what each sample drew. */
  step(): Promise<StepEvent[]> {
    const run = this.stepping.then(() => this.runStep());
    this.stepping = run.catch(() => undefined);
    return run;
  }

  /** Stops a request: its samples leave the batch at once and their blocks return; its waiters reject. */
  abort(requestId: string): void {
    const r = this.requests.get(requestId);
    if (!r) return;
    for (const s of r.seqs) this.scheduler.drop(s);
    this.requests.delete(requestId);
    for (const w of r.waiters) w.reject(new Error(`Engine: request '${requestId}' was aborted`));
  }

  /**
   * Continues sample `index` of a held request: `tokenIds` are appended (prefilled, logprob 0) and
   * decoding goes on under `params` (default: the request's; maxTokens counts afresh). Only what is not
   * cached is computed.
   */
  extend(requestId: string, index: number, tokenIds: readonly number[], params?: SamplingParams): void {
    const where = 'Engine.extend';
    const seq = this.requests.get(requestId)?.seqs[index];
    if (!seq) throw new Error(`${where}: no sample ${index} of request '${requestId}'`);
    if (seq.status !== 'held') throw new Error(`${where}: sample ${index} of request '${requestId}' is ${seq.status}, not held (add the request with { hold: true } and wait until it finishes)`);
    this.checkIds(tokenIds, `${where}: tokenIds`);
    if (seq.tokens.length + tokenIds.length >= this.maxModelLen)
      throw new Error(`${where}: ${seq.tokens.length} + ${tokenIds.length} tokens leave no room to generate within maxModelLen ${this.maxModelLen}`);
    if (params !== undefined) seq.params = this.resolve({ ...seq.params, ...params, n: 1 }, where);
    seq.tokens.push(...tokenIds);
    for (let i = 0; i < tokenIds.length; i++) seq.logprobs.push(0);
    seq.sampled = 0;
    seq.finishReason = seq.stopReason = undefined;
    if (this.tokenizer) seq.stopText = new StopText(this.tokenizer, seq.params.stop, seq.params.includeStopStrInOutput, seq.outputTokenIds);
    this.scheduler.resume(seq);
    void this.drive();
  }

  /** Frees a held request's cache (every sample, or one) and forgets it once no sample is left. */
  release(requestId: string, index?: number): void {
    const r = this.requests.get(requestId);
    if (!r) return;
    for (const s of index === undefined ? r.seqs : [r.seqs[index]!]) if (s && s.status === 'held') this.scheduler.drop(s);
    if (r.seqs.every((s) => s.status === 'finished')) this.requests.delete(requestId);
  }

  /** A request's samples as they stand. */
  output(requestId: string): RequestOutput {
    const r = this.requests.get(requestId);
    if (!r) throw new Error(`Engine.output: no request '${requestId}'`);
    return this.snapshot(r);
  }

  /** Calls `listener` with each StepEvent of the request (and `onError` if a step fails); returns the unsubscribe function. */
  onEvent(requestId: string, listener: (e: StepEvent) => void, onError?: (e: Error) => void): () => void {
    const r = this.requests.get(requestId);
    if (!r) throw new Error(`Engine.onEvent: no request '${requestId}'`);
    r.listeners.add(listener);
    if (onError) r.errorListeners.add(onError);
    return () => {
      r.listeners.delete(listener);
      if (onError) r.errorListeners.delete(onError);
    };
  }

  /** Resolves when every sample of the request has finished (or is held); steps the engine meanwhile. */
  wait(requestId: string): Promise<RequestOutput> {
    const r = this.requests.get(requestId);
    if (!r) return Promise.reject(new Error(`Engine.wait: no request '${requestId}'`));
    const done = this.settled(r) ? Promise.resolve(this.snapshot(r)) : new Promise<RequestOutput>((resolve, reject) => r.waiters.push({ resolve, reject }));
    void this.drive();
    return done;
  }

  /**
   * vLLM's LLM.generate: one result per prompt, in order, with n outputs each. `params` is one
   * SamplingParams for all prompts or one per prompt. Every prompt is checked before any is queued.
   */
  async generate(prompts: readonly Prompt[], params?: SamplingParams | readonly SamplingParams[]): Promise<RequestOutput[]> {
    const ids = this.addAll(prompts, params, 'Engine.generate');
    const out = await Promise.all(ids.map((id) => this.wait(id)));
    for (const id of ids) this.release(id);
    return out;
  }

  /** generate's streaming form: every sampled token as it comes, tagged with its prompt's index. */
  async *stream(prompts: readonly Prompt[], params?: SamplingParams | readonly SamplingParams[]): AsyncGenerator<StreamEvent> {
    const ids = this.addAll(prompts, params, 'Engine.stream');
    const queue: StreamEvent[] = [];
    let wake: (() => void) | undefined;
    let open = ids.length;
    let failure: Error | undefined;
    ids.forEach((id, promptIndex) => {
      this.onEvent(id, (e) => {
        queue.push({ ...e, promptIndex });
        wake?.();
      });
      this.wait(id).then(
        () => {
          open--;
          wake?.();
        },
        (e: Error) => {
          failure = e;
          wake?.();
        },
      );
    });
    try {
      while (open > 0 || queue.length > 0) {
        if (queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        if (failure) throw failure;
        yield* queue.splice(0);
      }
    } finally {
      for (const id of ids) if (this.requests.get(id)?.seqs.some((s) => s.status !== 'finished')) this.abort(id);
      for (const id of ids) this.release(id);
    }
  }

  stats(): EngineStats {
    return {
      numBlocks: this.blocks.numBlocks,
      blockSize: this.blockSize,
      freeBlocks: this.blocks.numFree,
      kvCacheBytes: this.blocks.numBlocks * this.blockSize * this.kvBytesPerToken,
      kvBytesPerToken: this.kvBytesPerToken,
      maxModelLen: this.maxModelLen,
      waiting: this.scheduler.waiting.length,
      running: this.scheduler.running.length,
      held: this.scheduler.held.size,
      preemptions: this.scheduler.preemptions,
      steps: this.stepsRun,
      sampledTokens: this.tokensSampled,
      prefixCacheHits: this.blocks.stats.hits,
      prefixCacheQueries: this.blocks.stats.queries,
    };
  }

  /**
   * Forgets every cached prefix. The engine does this itself when `model.weightVersion` moves (AdamW.step,
   * model.weightsChanged(), which also refreshes the packed weights: call that after changing weights).
   */
  resetPrefixCache(): void {
    this.scheduler.resetPrefixCache();
    this.weightVersion = this.model.weightVersion;
  }

  /** Throws unless the block pool agrees with the sequences' tables (ref counts, free list, prefix cache). */
  checkInvariants(): void {
    this.blocks.checkInvariants(this.scheduler.tables());
  }

  /** Frees the cache (the engine is unusable afterwards). */
  dispose(): void {
    for (const id of [...this.requests.keys()]) this.abort(id);
    for (const t of [...this.kCache, ...this.vCache]) t.dispose();
  }

  // --- internals ---------------------------------------------------------------

  private resolve(params: SamplingParams | undefined, where: string): ResolvedSamplingParams {
    const p = resolveSamplingParams(params, where, this.model.config.vocabSize);
    if (p.stop.length > 0 && !this.tokenizer) throw new Error(`${where}: stop strings need the engine's tokenizer (new Engine(model, { tokenizer }))`);
    return p;
  }

  private checkIds(ids: readonly number[], what: string): void {
    const V = this.model.config.vocabSize;
    if (!Array.isArray(ids) && !ArrayBuffer.isView(ids)) throw new Error(`${what} must be an array of token ids`);
    ids.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new Error(`${what}[${i}] = ${t} is outside the vocabulary [0, ${V})`);
    });
  }

  private promptIds(prompt: Prompt, where: string): number[] {
    let ids: number[];
    if (typeof prompt === 'string') {
      if (!this.tokenizer) throw new Error(`${where}: a string prompt needs the engine's tokenizer (new Engine(model, { tokenizer })), or pass token ids`);
      ids = this.tokenizer.encode(prompt, { addSpecialTokens: false });
    } else {
      this.checkIds(prompt, `${where}: prompt`);
      ids = Array.from(prompt);
    }
    if (ids.length === 0) throw new Error(`${where}: the prompt is empty`);
    if (ids.length >= this.maxModelLen) throw new Error(`${where}: the prompt has ${ids.length} tokens; maxModelLen is ${this.maxModelLen} (prompt plus at least one generated token)`);
    return ids;
  }

  private addAll(prompts: readonly Prompt[], params: SamplingParams | readonly SamplingParams[] | undefined, where: string): string[] {
    if (!Array.isArray(prompts)) throw new Error(`${where}: prompts must be an array`);
    if (Array.isArray(params) && params.length !== prompts.length) throw new Error(`${where}: ${params.length} sampling params for ${prompts.length} prompts`);
    const checked = prompts.map((p, i) => ({
      ids: this.promptIds(p, `${where}: prompt ${i}`),
      params: this.resolve(Array.isArray(params) ? params[i] : (params as SamplingParams | undefined), `${where}: prompt ${i}`),
    }));
    return checked.map(({ ids, params: p }) => {
      const id = `${this.nextRequestId++}`;
      this.enqueue(id, ids, p, false);
      return id;
    });
  }

  private enqueue(id: string, ids: number[], p: ResolvedSamplingParams, hold: boolean): void {
    const seed = p.seed ?? this.nextSeed();
    const seqs = Array.from({ length: p.n }, (_, i) => {
      const s = new Sequence(this.nextSeqId++, id, i, ids, p, deriveSeed(seed, i));
      if (this.tokenizer) s.stopText = new StopText(this.tokenizer, p.stop, p.includeStopStrInOutput);
      return s;
    });
    seqs[0]!.forks = seqs.slice(1);
    this.requests.set(id, { id, promptTokenIds: ids, seqs, hold, listeners: new Set(), errorListeners: new Set(), waiters: [] });
    this.scheduler.add(seqs[0]!);
  }

  private nextSeed(): number {
    this.seedState = (this.seedState + 0x9e3779b9) % 2 ** 32;
    return deriveSeed(this.seedState, 0x5eed);
  }

  private settled(r: Request): boolean {
    return r.seqs.every((s) => s.status === 'finished' || s.status === 'held');
  }

  private snapshot(r: Request): RequestOutput {
    return {
      requestId: r.id,
      promptTokenIds: [...r.promptTokenIds],
      outputs: r.seqs.map((s) => ({
        index: s.index,
        tokenIds: s.outputTokenIds,
        logprobs: [...s.logprobs],
        ...(s.stopText ? { text: s.stopText.text } : {}),
        finishReason: s.finishReason,
        ...(s.stopReason !== undefined ? { stopReason: s.stopReason } : {}),
      })),
      finished: this.settled(r),
    };
  }

  // Steps while any request has work; a failure rejects every waiter.
  private async drive(): Promise<void> {
    if (this.driving) return;
    this.driving = true;
    try {
      while (this.scheduler.hasWork()) await this.step();
    } catch (e) {
      for (const r of this.requests.values()) {
        for (const w of r.waiters.splice(0)) w.reject(e as Error);
        for (const l of r.errorListeners) l(e as Error);
      }
    } finally {
      this.driving = false;
    }
  }

  private async runStep(): Promise<StepEvent[]> {
    if (this.model.weightVersion !== this.weightVersion) this.resetPrefixCache(); // cached K/V are stale
    const out = this.scheduler.schedule();
    if (out.scheduled.length === 0) {
      if (this.scheduler.hasWork()) throw new Error('Engine: internal error: work is queued but nothing could be scheduled');
      return [];
    }
    const input = this.stepInput(out);
    let result;
    try {
      result = await this.model.native.generateStep({ k: this.kCache, v: this.vCache }, input);
    } finally {
      for (const t of Object.values(input)) if (t instanceof Tensor) t.dispose();
    }
    this.scheduler.commit(out);
    this.stepsRun++;
    const ids = result.ids.toArray() as Int32Array;
    const logprobs = result.tempLogprob.toArray() as Float32Array;
    for (const t of [result.ids, result.logprob, result.tempLogprob]) t.dispose();
    const events: StepEvent[] = [];
    let row = 0;
    for (const { samples } of out.scheduled)
      for (const seq of samples) {
        const [id, lp] = [ids[row]!, logprobs[row++]!];
        if (seq.status !== 'finished') events.push(this.append(seq, id, lp)); // else aborted meanwhile
        this.tokensSampled++;
      }
    for (const e of events) {
      const r = this.requests.get(e.requestId);
      if (!r) continue;
      for (const l of r.listeners) l(e);
      if (e.finishReason !== undefined && this.settled(r)) for (const w of r.waiters.splice(0)) w.resolve(this.snapshot(r));
    }
    return events;
  }

  // The native step's input: new tokens packed, each sequence's cached length after the step and its
  // block table, the copies, and one sampling row per sample.
  private stepInput(out: SchedulerOutput) {
    const { scheduled, copies } = out;
    const B = scheduled.length;
    const maxBlocks = Math.max(1, ...scheduled.map((s) => s.seq.blockTable.length));
    const T = scheduled.reduce((n, s) => n + s.numTokens, 0);
    const tokens = new Int32Array(T), cu = new Int32Array(B + 1), ctx = new Int32Array(B), tables = new Int32Array(B * maxBlocks);
    const rows = scheduled.flatMap((s, b) => s.samples.map((seq) => ({ b, seq })));
    const R = rows.length;
    const sampleSeqs = new Int32Array(R), temperature = new Float64Array(R), topK = new Float64Array(R), topP = new Float64Array(R);
    const minP = new Float64Array(R), seed = new Float64Array(R), offset = new Float64Array(R);
    scheduled.forEach(({ seq, numTokens }, b) => {
      tokens.set(seq.tokens.slice(seq.numComputed, seq.numComputed + numTokens), cu[b]);
      cu[b + 1] = cu[b]! + numTokens;
      ctx[b] = seq.numComputed + numTokens;
      tables.set(seq.blockTable, b * maxBlocks);
    });
    rows.forEach(({ b, seq }, r) => {
      const p = seq.params;
      sampleSeqs[r] = b;
      temperature[r] = p.temperature;
      topK[r] = Math.max(0, p.topK);
      topP[r] = p.topP;
      minP[r] = p.minP;
      seed[r] = seq.seed;
      offset[r] = seq.tokens.length; // the position the drawn token will take
    });
    const i32 = (a: Int32Array, shape: number[] = [a.length]) => tensor(a, shape, { dtype: 'i32' });
    return {
      tokens: i32(tokens),
      cuSeqlens: i32(cu),
      contextLens: i32(ctx),
      blockTables: i32(tables, [B, maxBlocks]),
      copySrc: i32(Int32Array.from(copies, (c) => c.src)),
      copyDst: i32(Int32Array.from(copies, (c) => c.dst)),
      sampleSeqs: i32(sampleSeqs),
      temperature,
      topK,
      topP,
      minP,
      seed,
      offset,
      weightVersion: this.packWeights ? this.model.weightVersion : -1,
      // a head padded past the tokenizer (Qwen2.5: 151936 rows, 151665 ids) must not sample ids without text
      vocab: this.tokenizer && this.tokenizer.vocabSize < this.model.config.vocabSize ? this.tokenizer.vocabSize : 0,
    };
  }

  // Appends a sampled token and applies the stop rules (vLLM's order: stop token ids and EOS, stop
  // strings, then maxTokens and maxModelLen).
  private append(seq: Sequence, token: number, logprob: number): StepEvent {
    seq.tokens.push(token);
    seq.logprobs.push(logprob);
    seq.sampled++;
    const p = seq.params;
    let reason: FinishReason | undefined;
    let stopReason: string | number | undefined;
    if (p.stopTokenIds.includes(token)) [reason, stopReason] = ['stop', token];
    else if (!p.ignoreEos && this.eos.has(token)) reason = 'stop';
    const matched = seq.stopText?.push([token]);
    if (reason === undefined && matched !== undefined) [reason, stopReason] = ['stop', matched];
    if (reason === undefined && (seq.sampled >= p.maxTokens || seq.tokens.length >= this.maxModelLen)) reason = 'length';
    const event: StepEvent = { requestId: seq.requestId, index: seq.index, tokenId: token, logprob };
    if (reason !== undefined) {
      seq.finishReason = reason;
      seq.stopReason = stopReason;
      seq.stopText?.finish();
      event.finishReason = reason;
      if (stopReason !== undefined) event.stopReason = stopReason;
      this.scheduler.finish(seq, this.requests.get(seq.requestId)?.hold ?? false);
    }
    if (seq.stopText) event.text = seq.stopText.take();
    return event;
  }
}
