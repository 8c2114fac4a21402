// One sample being generated: its tokens (prompt, then output), how many of
// them have K/V in the cache, and the blocks that hold them.
import type { ResolvedSamplingParams } from './sampling-params.js';
import type { StopText } from './stop.js';

/**
 * waiting: queued for (re)computation; running: scheduled each step; held: finished but keeping its
 * cache for `Engine.extend` (or evicted from it, to be recomputed); finished: done, blocks returned;
 * forking: sample i > 0 of a prompt, waiting for sample 0's prefill to share its blocks.
 */
export type SequenceStatus = 'waiting' | 'running' | 'held' | 'finished' | 'forking';

export type FinishReason = 'stop' | 'length';

export class Sequence {
  status: SequenceStatus;
  /** Prompt, then output (sampled tokens and tokens appended by extend). */
  readonly tokens: number[];
  readonly promptLength: number;
  /** Per output token: its log-prob under logits / temperature (0 for appended tokens). */
  readonly logprobs: number[] = [];
  /** Tokens whose K/V are in the cache (a prefix of `tokens`). */
  numComputed = 0;
  /** Cache blocks of tokens [0, numComputed) and of what this step writes. */
  blockTable: number[] = [];
  /** Leading full blocks registered in the prefix cache. */
  numRegistered = 0;
  /** Its cached K/V were computed with the current weights (false after a weight change, until recomputed). */
  cacheable = true;
  /** Tokens sampled since the request started or was last extended (what maxTokens bounds). */
  sampled = 0;
  /** Samples 1 … n−1 of the prompt, forked from this one when its prefill completes. */
  forks: Sequence[] = [];
  finishReason: FinishReason | undefined;
  /** The stop string or stop token id that ended it (undefined for EOS or length). */
  stopReason: string | number | undefined;
  /** Incremental text and stop strings (when the engine has a tokenizer). */
  stopText: StopText | undefined;

  constructor(
    /** Unique in the engine. */
    readonly id: number,
    readonly requestId: string,
    /** The sample's index in its request (0 … n−1). */
    readonly index: number,
    prompt: readonly number[],
    public params: ResolvedSamplingParams,
    /** Philox key of this sample's draws (the draw for position p uses offset p). */
    readonly seed: number,
  ) {
    this.tokens = [...prompt];
    this.promptLength = prompt.length;
    this.status = index === 0 ? 'waiting' : 'forking';
  }

  /** The output so far: everything after the prompt. */
  get outputTokenIds(): number[] {
    return this.tokens.slice(this.promptLength);
  }
}
