// Incremental detokenization of a token stream: text is released only once its UTF-8 bytes are
// complete, so a character split across tokens never shows up as U+FFFD garbage.

/**
 * Decodes ids one (or a few) at a time. `push` returns the text that became final; the
 * concatenation of every `push` and the closing `flush` equals decoding all ids at once.
 * Works as vLLM's detokenize_incrementally: decode a short window starting at the last
 * character boundary and hold back output while the window ends in an incomplete character.
 */
export class DecodeStream {
  private readonly ids: number[] = [];
  /** Start of the window that is re-decoded (a character boundary). */
  private prefixOffset = 0;
  /** End of the ids whose text has already been released. */
  private readOffset = 0;
  private readonly decode: (ids: number[]) => string;

  constructor(decode: (ids: number[]) => string) {
    this.decode = decode;
  }

  /** All ids pushed so far. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }

  /** Add ids; returns the newly completed text ('' while a character is still incomplete). */
  push(...ids: number[]): string {
    this.ids.push(...ids);
    const released = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const window = this.decode(this.ids.slice(this.prefixOffset));
    if (window.length <= released.length || window.endsWith('\uFFFD')) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return window.slice(released.length);
  }

  /** The text held back at the end of the stream (invalid trailing bytes decode to U+FFFD). */
  flush(): string {
    const released = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
    const window = this.decode(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    return window.slice(released.length);
  }
}
