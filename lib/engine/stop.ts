// Stop-string matching on incrementally decoded text (vLLM's stop checker):
// text is released only at character boundaries (DecodeStream), and each new
// piece is searched together with the tail of the text before it, so a stop
// string split across tokens is found as soon as its last character arrives.
import type { DecodeStream, Tokenizer } from '../tokenizer/index.js';

export class StopText {
  /** The decoded output so far (cut at the stop string once one matched). */
  text: string;
  private readonly stream: DecodeStream;
  private readonly longest: number;
  /** Matches start at or after this index (text given up front is never searched). */
  private readonly matchFrom: number;
  private stopped = false;
  /** text[0, released) has been handed out by take(). */
  private released = 0;

  /** `prior`: output ids already there (e.g. a sequence being continued): decoded, never matched. */
  constructor(
    tokenizer: Tokenizer,
    private readonly stops: readonly string[],
    private readonly includeStop: boolean,
    prior: readonly number[] = [],
  ) {
    this.stream = tokenizer.decodeStream({ skipSpecialTokens: true });
    this.longest = Math.max(0, ...stops.map((s) => s.length));
    this.text = prior.length > 0 ? this.stream.push(...prior) : '';
    this.matchFrom = this.released = this.text.length;
  }

  /** Adds ids; returns the stop string they completed (text is then cut there), or undefined. */
  push(ids: readonly number[]): string | undefined {
    const piece = this.stream.push(...ids);
    if (piece.length === 0 || this.stopped) return undefined;
    const from = Math.max(this.matchFrom, this.text.length - this.longest + 1);
    this.text += piece;
    let best: { at: number; stop: string } | undefined;
    for (const stop of this.stops) {
      const at = this.text.indexOf(stop, from);
      if (at >= 0 && (best === undefined || at < best.at)) best = { at, stop };
    }
    if (best === undefined) return undefined;
    this.text = this.text.slice(0, best.at + (this.includeStop ? best.stop.length : 0));
    this.stopped = true;
    return best.stop;
  }

  /**
   * The text that became final since the last call: while generation runs, the last (longest stop − 1)
   * characters are held back, since a stop string that starts there could still cut them.
   */
  take(): string {
    const end = this.stopped ? this.text.length : Math.max(this.released, this.text.length - Math.max(0, this.longest - 1));
    const piece = this.text.slice(this.released, end);
    this.released = end;
    return piece;
  }

  /** The text of the whole output once it is finished (held-back bytes flushed unless a stop string cut it). */
  finish(): string {
    if (!this.stopped) this.text += this.stream.flush();
    this.stopped = true;
    return this.text;
  }
}
