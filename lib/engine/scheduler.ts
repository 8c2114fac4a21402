// Continuous batching (vLLM V1's unified scheduler): every sequence has
// `tokens` and `numComputed`; each step gives each scheduled sequence
// min(tokens it has not computed, the step's token budget left) tokens — a
// whole prompt, a chunk of one, or the one token it sampled last — so
// prefill chunks and decodes mix in one batch. Running sequences go first, in
// arrival order; waiting ones join between steps while blocks, the token
// budget (maxBatchTokens) and maxNumSeqs allow. When a running sequence
// needs a block and none is free, a victim gives its blocks back and is
// recomputed later (preemption by recompute): first a held sequence (idle,
// waiting for Engine.extend), else the latest running one not yet scheduled
// this step, else the sequence itself. Nothing is lost: a victim keeps its
// tokens, and recomputing them gives the same cache (the prefix cache often
// still has its blocks).
import type { BlockCopy, BlockManager } from './block-manager.js';
import type { Sequence } from './sequence.js';

export interface SchedulerLimits {
  /** Sequences per step at most. */
  maxNumSeqs: number;
  /** New tokens per step at most (prefill chunks are cut to fit). */
  maxBatchTokens: number;
}

/** One sequence's part of a step. */
export interface ScheduledSeq {
  seq: Sequence;
  /** Its tokens [numComputed, numComputed + numTokens) are computed this step. */
  numTokens: number;
  /**
   * The samples drawn from the distribution after its last new token: [] mid-prefill, [seq] when it
   * reaches its end, [seq, ...forks] when a prompt with n > 1 completes its prefill.
   */
  samples: Sequence[];
}

export interface SchedulerOutput {
  scheduled: ScheduledSeq[];
  /** Block copies (copy-on-write) to do before this step writes anything. */
  copies: BlockCopy[];
  /** Sequences that gave their blocks back this step. */
  preempted: Sequence[];
}

export class Scheduler {
  /** Queued for (re)computation, first come first served (preempted ones at the front). */
  readonly waiting: Sequence[] = [];
  /** Holding blocks and decoding, in arrival order. */
  readonly running: Sequence[] = [];
  /** Finished but keeping their blocks for Engine.extend, oldest first. */
  readonly held = new Set<Sequence>();
  /** Sequences preempted so far. */
  preemptions = 0;

  constructor(
    readonly blocks: BlockManager,
    readonly limits: SchedulerLimits,
  ) {}

  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  add(seq: Sequence): void {
    seq.status = 'waiting';
    this.waiting.push(seq);
  }

  schedule(): SchedulerOutput {
    const out: SchedulerOutput = { scheduled: [], copies: [], preempted: [] };
    const { maxNumSeqs } = this.limits;
    let budget = this.limits.maxBatchTokens;
    for (let i = 0; i < this.running.length && out.scheduled.length < maxNumSeqs && budget > 0; ) {
      const seq = this.running[i]!;
      const n = Math.min(seq.tokens.length - seq.numComputed, budget);
      let fits = this.reserve(seq, n, out.copies);
      while (!fits) {
        const victim = this.victim(i);
        if (victim === undefined) break;
        this.preempt(victim, out);
        fits = this.reserve(seq, n, out.copies);
      }
      if (!fits) {
        this.preempt(seq, out); // nothing else to take from: it waits for the others to finish
        continue;
      }
      out.scheduled.push({ seq, numTokens: n, samples: this.samplesOf(seq, n) });
      budget -= n;
      i++;
    }
    if (out.preempted.some((s) => s.status === 'waiting')) return out; // no admissions while running ones wait
    while (this.waiting.length > 0 && budget > 0) {
      const seq = this.waiting[0]!;
      const width = 1 + seq.forks.length;
      if (out.scheduled.length >= maxNumSeqs || (this.running.length > 0 && this.running.length + width > maxNumSeqs)) break;
      if (seq.blockTable.length === 0) this.reuseCachedPrefix(seq);
      const n = Math.min(seq.tokens.length - seq.numComputed, budget);
      let fits = this.reserve(seq, n, out.copies);
      for (let h = this.heldWithBlocks(); !fits && h !== undefined; h = this.heldWithBlocks()) {
        this.preempt(h, out); // idle held caches make room for new work
        fits = this.reserve(seq, n, out.copies);
      }
      if (!fits) {
        this.release(seq); // give the prefix hits back until there is room
        break;
      }
      this.waiting.shift();
      seq.status = 'running';
      this.running.push(seq);
      out.scheduled.push({ seq, numTokens: n, samples: this.samplesOf(seq, n) });
      budget -= n;
    }
    return out;
  }

  /** After the step ran: the computed tokens, newly full blocks into the prefix cache, forks made. */
  commit(out: SchedulerOutput): void {
    const bs = this.blocks.blockSize;
    for (const { seq, numTokens, samples } of out.scheduled) {
      if (seq.status === 'finished') continue; // aborted while the step ran
      seq.numComputed += numTokens;
      if (seq.cacheable)
        while ((seq.numRegistered + 1) * bs <= seq.numComputed) this.blocks.register(seq.blockTable, seq.numRegistered++, seq.tokens);
      if (samples.length > 1) {
        const at = this.running.indexOf(seq) + 1;
        for (const f of seq.forks) {
          f.blockTable = [...seq.blockTable];
          this.blocks.fork(f.blockTable);
          f.numComputed = seq.numComputed;
          f.numRegistered = seq.numRegistered;
          f.status = 'running';
        }
        this.running.splice(at, 0, ...seq.forks);
        seq.forks = [];
      }
    }
  }

  /** A sequence is done: its blocks go back at once, or it keeps them (held) for Engine.extend. */
  finish(seq: Sequence, hold: boolean): void {
    this.remove(seq);
    if (hold) {
      seq.status = 'held';
      this.held.add(seq);
    } else {
      this.release(seq);
      seq.status = 'finished';
    }
  }

  /** A held sequence continues (its new tokens were appended): recomputed only past its cached prefix. */
  resume(seq: Sequence): void {
    this.held.delete(seq);
    if (seq.blockTable.length > 0) {
      seq.status = 'running';
      this.running.push(seq);
    } else {
      this.add(seq);
    }
  }

  /** Removes a sequence from every queue and returns its blocks (abort, release). */
  drop(seq: Sequence): void {
    this.remove(seq);
    this.held.delete(seq);
    this.release(seq);
    seq.status = 'finished';
  }

  /** Every block table in use (for the block manager's invariant check). */
  tables(): number[][] {
    return [...this.running, ...this.waiting, ...this.held].map((s) => s.blockTable);
  }

  private samplesOf(seq: Sequence, n: number): Sequence[] {
    return seq.numComputed + n === seq.tokens.length ? [seq, ...seq.forks] : [];
  }

  // Blocks for tokens [numComputed, numComputed + n): a copy of a shared partial block it writes into,
  // then fresh blocks; false (nothing changed) if the pool cannot supply them.
  private reserve(seq: Sequence, n: number, copies: BlockCopy[]): boolean {
    const bs = this.blocks.blockSize;
    const fresh = Math.max(0, Math.ceil((seq.numComputed + n) / bs) - seq.blockTable.length);
    const into = Math.floor(seq.numComputed / bs);
    const cow = n > 0 && into < seq.blockTable.length && this.blocks.refCount(seq.blockTable[into]!) > 1;
    if (this.blocks.numFree < fresh + (cow ? 1 : 0)) return false;
    if (cow) copies.push(this.blocks.copyOnWrite(seq.blockTable, into)!);
    for (let k = 0; k < fresh; k++) seq.blockTable.push(this.blocks.allocate());
    return true;
  }

  // Full blocks of the prompt already cached (at most up to the token before the last: the last
  // token is always computed, for its logits).
  private reuseCachedPrefix(seq: Sequence): void {
    const hits = this.blocks.matchPrefix(seq.tokens, Math.floor((seq.tokens.length - 1) / this.blocks.blockSize));
    seq.blockTable = hits;
    seq.numComputed = seq.numRegistered = hits.length * this.blocks.blockSize;
  }

  // Who gives blocks back for running[current]: the oldest held sequence with blocks, else the
  // latest running sequence after `current` (not yet scheduled this step).
  private victim(current: number): Sequence | undefined {
    return this.heldWithBlocks() ?? (this.running.length - 1 > current ? this.running[this.running.length - 1] : undefined);
  }

  private heldWithBlocks(): Sequence | undefined {
    for (const h of this.held) if (h.blockTable.length > 0) return h;
    return undefined;
  }

  private preempt(seq: Sequence, out: SchedulerOutput): void {
    this.release(seq);
    out.preempted.push(seq);
    this.preemptions++;
    if (seq.status === 'held') return; // stays held, without cache: extend recomputes it
    this.remove(seq);
    seq.status = 'waiting';
    this.waiting.unshift(seq);
  }

  /** The weights changed: no cached prefix is reused, and what sequences hold now is never registered. */
  resetPrefixCache(): void {
    this.blocks.resetCache();
    for (const seq of [...this.running, ...this.waiting, ...this.held]) if (seq.blockTable.length > 0) seq.cacheable = false;
  }

  private release(seq: Sequence): void {
    this.blocks.free(seq.blockTable);
    seq.blockTable = [];
    seq.numComputed = seq.numRegistered = 0;
    seq.cacheable = true; // recomputed from scratch
  }

  private remove(seq: Sequence): void {
    for (const q of [this.running, this.waiting]) {
      const i = q.indexOf(seq);
      if (i >= 0) q.splice(i, 1);
    }
  }
}
