// The KV block manager of the paged cache: a fixed pool of blocks of `blockSize` token slots,
// reference counts (a block is shared by the samples of one prompt and by every sequence whose
// prompt starts with the same tokens), a free list in LRU order, and prefix caching: a full
// block, once registered under the chained hash of its tokens, can be hit by a later sequence
// with the same prefix, even after it was freed, until it is reallocated.
//
// Pure bookkeeping over block ids; the device memory the ids name lives in the model runner.
// Every method checks its arguments and throws on misuse (a caller bug) before changing state.

/** A copy the device must do before the next step writes into `dst`: block src → block dst. */
export interface BlockCopy {
  src: number;
  dst: number;
}

/**
 * The chained hash of one full block: a function of the hash of the blocks before it (`parent`,
 * {@link ROOT_HASH} for block 0) and the block's token ids. Must return a non-negative integer
 * below 2^53 and be deterministic.
 */
export type BlockHashFn = (parent: number, tokens: Int32Array) => number;

export interface BlockManagerOptions {
  /** The block hash (default {@link blockHash}); tests inject a degenerate one to force collisions. */
  hash?: BlockHashFn;
}

/** The `parent` of block 0 of every sequence. */
export const ROOT_HASH = 0;

/**
 * A fast non-cryptographic 53-bit hash of (parent hash, block token ids): two 32-bit lanes, each
 * a rotate-multiply mix per token, seeded from the parent's low and high words, then crossed by a
 * murmur3-style finaliser. Not collision-free, and it need not be: a hit is accepted only when the
 * cached block's stored token ids and stored parent hash equal the query's, so a collision costs a
 * cache miss, never a wrong KV.
 */
export function blockHash(parent: number, tokens: ArrayLike<number>): number {
  let h1 = 0x9e3779b9 ^ (parent >>> 0);
  let h2 = 0x7f4a7c15 ^ ((parent / 0x100000000) >>> 0);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]! | 0;
    h1 = Math.imul(h1 ^ t, 0x9e3779b1);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = Math.imul(h2 ^ t, 0x5f356495);
    h2 = (h2 << 17) | (h2 >>> 15);
  }
  h1 ^= tokens.length;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  return (h2 & 0x1fffff) * 0x100000000 + (h1 >>> 0);
}

/** "No hash" in the per-block hash arrays (hashes are non-negative). */
const NONE = -1;

/**
 * Block pool with ref counts, an O(1) LRU free list and a prefix cache.
 *
 * Per block: a ref count (the number of block-table entries naming it); when registered, the
 * chained hash of its content, the parent hash it was chained on and a copy of its token ids.
 * Free blocks (ref count 0) sit in a doubly linked list (Int32Array prev/next, sentinel
 * `numBlocks`): allocation takes the head (least recently freed), freeing appends to the tail,
 * a prefix hit on a free cached block unlinks it from the middle.
 */
export class BlockManager {
  readonly numBlocks: number;
  readonly blockSize: number;
  /** Prefix-cache hits so far (blocks), and lookups (full blocks asked for, at most `maxBlocks` per call). */
  readonly stats: { hits: number; queries: number } = { hits: 0, queries: 0 };

  private readonly hash: BlockHashFn;
  private readonly refs: Int32Array;
  /** Free list links over block ids; index `numBlocks` is the sentinel (next = head, prev = tail). */
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly inFree: Uint8Array;
  private free_: number;
  /**
   * The chained hash of a full block's content, kept from its first register() until it is
   * reallocated, also when it is not (or no longer) the registered block for that hash: a
   * duplicate of a cached block, or the loser of a collision. Later blocks chain on it.
   */
  private readonly chain: Float64Array;
  /** The parent hash a registered block was chained on; NONE unless registered. */
  private readonly parentOf: Float64Array;
  /** The token ids of a registered block; null unless registered. */
  private readonly tokensOf: (Int32Array | null)[];
  /** Chained hash → the block registered under it (that block's tokensOf is set). */
  private readonly cached = new Map<number, number>();
  /** One block of token ids, reused by every lookup. */
  private readonly scratch: Int32Array;

  /** A pool of `numBlocks` free blocks of `blockSize` tokens each; block ids are 0 … numBlocks−1. */
  constructor(numBlocks: number, blockSize: number, options: BlockManagerOptions = {}) {
    if (!(Number.isInteger(numBlocks) && numBlocks > 0)) throw new RangeError(`BlockManager: numBlocks must be a positive integer, got ${numBlocks}`);
    if (!(Number.isInteger(blockSize) && blockSize > 0)) throw new RangeError(`BlockManager: blockSize must be a positive integer, got ${blockSize}`);
    this.numBlocks = numBlocks;
    this.blockSize = blockSize;
    this.hash = options.hash ?? blockHash;
    this.refs = new Int32Array(numBlocks);
    this.next = new Int32Array(numBlocks + 1);
    this.prev = new Int32Array(numBlocks + 1);
    this.inFree = new Uint8Array(numBlocks).fill(1);
    // free list 0, 1, …, numBlocks−1, circular through the sentinel
    for (let i = 0; i <= numBlocks; i++) {
      this.next[i] = i === numBlocks ? 0 : i + 1;
      this.prev[i] = i === 0 ? numBlocks : i - 1;
    }
    this.free_ = numBlocks;
    this.chain = new Float64Array(numBlocks).fill(NONE);
    this.parentOf = new Float64Array(numBlocks).fill(NONE);
    this.tokensOf = new Array<Int32Array | null>(numBlocks).fill(null);
    this.scratch = new Int32Array(blockSize);
  }

  /** Blocks with no reference (free, possibly still holding a cached prefix). */
  get numFree(): number {
    return this.free_;
  }

  /** Blocks registered in the prefix cache (in use or free). */
  get numCached(): number {
    return this.cached.size;
  }

  /** The number of block-table entries naming `block`. */
  refCount(block: number): number {
    this.checkBlock(block, 'refCount');
    return this.refs[block]!;
  }

  /** Whether `block` is the registered holder of its hash (a later matchPrefix can hit it). */
  isRegistered(block: number): boolean {
    this.checkBlock(block, 'isRegistered');
    return this.tokensOf[block] !== null;
  }

  /**
   * Prefix caching: the longest run of cached full blocks that starts `tokens` (blocks 0, 1, …
   * whose chained hash is registered and whose stored token ids and parent hash equal the
   * query's), but at most `maxBlocks` blocks. Takes a reference on each block returned (a free
   * cached block leaves the free list). Counts min(full blocks of `tokens`, maxBlocks) queries.
   */
  matchPrefix(tokens: ArrayLike<number>, maxBlocks: number): number[] {
    if (!(maxBlocks >= 0 && (Number.isInteger(maxBlocks) || maxBlocks === Infinity)))
      throw new RangeError(`BlockManager.matchPrefix: maxBlocks must be a non-negative integer, got ${maxBlocks}`);
    const n = Math.min(Math.floor(tokens.length / this.blockSize), maxBlocks);
    this.stats.queries += n;
    const hits: number[] = [];
    let parent = ROOT_HASH;
    for (let i = 0; i < n; i++) {
      this.load(tokens, i);
      const h = this.hash(parent, this.scratch);
      const b = this.cached.get(h);
      if (b === undefined || !this.holds(b, parent, this.scratch)) break;
      hits.push(b);
      parent = h;
    }
    for (const b of hits) {
      if (this.refs[b] === 0) this.unlink(b);
      this.refs[b]!++;
    }
    this.stats.hits += hits.length;
    return hits;
  }

  /**
   * One fresh block with ref count 1, from the free list's head (least recently freed); a cached
   * block taken this way loses its hash. Throws (naming the pool size) when none is free.
   */
  allocate(): number {
    const b = this.next[this.numBlocks]!;
    if (b === this.numBlocks)
      throw new Error(`BlockManager: out of KV blocks: all ${this.numBlocks} blocks of ${this.blockSize} tokens are in use`);
    this.unlink(b);
    this.forget(b);
    this.refs[b] = 1;
    return b;
  }

  /**
   * Drops one reference to each block (a table's blocks, given in table order). The blocks that
   * reach 0 go to the free list's tail in reverse table order, so a table's last block is evicted
   * first and its first (the prefix other prompts share) last; each keeps its hash and can still
   * be hit until it is reallocated. Throws, changing nothing, if a block has no reference left.
   */
  free(blocks: readonly number[]): void {
    for (const b of blocks) this.checkBlock(b, 'free');
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      if (this.refs[b] === 0) {
        for (let j = 0; j < i; j++) this.refs[blocks[j]!]!++;
        throw new Error(`BlockManager.free: block ${b} is already free (ref count 0)`);
      }
      this.refs[b]!--;
    }
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = blocks[i]!;
      if (this.refs[b] === 0 && this.inFree[b] === 0) this.append(b);
    }
  }

  /** Takes one more reference on each block (the n samples of one prompt share its blocks). Throws on a free block. */
  fork(blocks: readonly number[]): void {
    for (const b of blocks) {
      this.checkBlock(b, 'fork');
      if (this.refs[b] === 0) throw new Error(`BlockManager.fork: block ${b} is free (ref count 0); only blocks in use can be shared`);
    }
    for (const b of blocks) this.refs[b]!++;
  }

  /**
   * Registers full block `table[index]` as holding the KV of tokens[index·bs, (index+1)·bs),
   * chained on the hash of blocks 0 … index−1 of the same token sequence (the caller registers
   * blocks in order: block index−1's kept hash is the parent; when it has none, the chain is
   * recomputed from `tokens`). A no-op if an identical block (same hash, parent and tokens) is
   * already registered, or the block already is. When a different block holds the same hash (a
   * collision) the newer block takes the hash.
   */
  register(table: readonly number[], index: number, tokens: ArrayLike<number>): void {
    const bs = this.blockSize;
    if (!(Number.isInteger(index) && index >= 0 && index < table.length))
      throw new RangeError(`BlockManager.register: index ${index} is outside the table (length ${table.length})`);
    if (tokens.length < (index + 1) * bs)
      throw new RangeError(`BlockManager.register: block ${index} is not full: ${tokens.length} tokens < ${(index + 1) * bs}`);
    const b = table[index]!;
    this.checkBlock(b, 'register');
    if (this.refs[b] === 0) throw new Error(`BlockManager.register: block ${b} is free (ref count 0)`);
    const parent = index === 0 ? ROOT_HASH : this.chainAt(table, index - 1, tokens);
    this.load(tokens, index);
    const h = this.hash(parent, this.scratch);
    if (this.chain[b] !== NONE && this.chain[b] !== h)
      throw new Error(`BlockManager.register: block ${b} was registered with other tokens (or another prefix) than table position ${index} now has`);
    this.chain[b] = h;
    const holder = this.cached.get(h);
    if (holder === b) {
      if (!this.holds(b, parent, this.scratch)) throw new Error(`BlockManager.register: block ${b} is registered with other tokens than table position ${index} now has`);
      return;
    }
    if (holder !== undefined) {
      if (this.holds(holder, parent, this.scratch)) return; // an identical block is cached: b stays a plain copy
      this.tokensOf[holder] = null; // a collision: the older block loses the hash (keeps its chain)
      this.parentOf[holder] = NONE;
    }
    this.cached.set(h, b);
    this.tokensOf[b] = this.scratch.slice();
    this.parentOf[b] = parent;
  }

  /**
   * Copy-on-write before a write into `table[index]`: if that block is shared (ref count > 1),
   * replaces it in `table` (mutating the array) with a fresh block, drops one reference to the
   * old one, and returns the copy to perform; null when the block is not shared. Throws if the
   * block is a registered full block (those are never written), or, changing nothing, when no
   * block is free for the copy.
   */
  copyOnWrite(table: number[], index: number): BlockCopy | null {
    if (!(Number.isInteger(index) && index >= 0 && index < table.length))
      throw new RangeError(`BlockManager.copyOnWrite: index ${index} is outside the table (length ${table.length})`);
    const src = table[index]!;
    this.checkBlock(src, 'copyOnWrite');
    if (this.refs[src] === 0) throw new Error(`BlockManager.copyOnWrite: block ${src} is free (ref count 0)`);
    if (this.chain[src] !== NONE)
      throw new Error(`BlockManager.copyOnWrite: block ${src} is a registered full block; cached blocks are never written`);
    if (this.refs[src] === 1) return null;
    const dst = this.allocate();
    this.refs[src]!--;
    table[index] = dst;
    return { src, dst };
  }

  /**
   * Throws (naming the block and the broken rule) unless: ref counts equal the number of times
   * each block appears in `tables`; a block is in the free list iff its ref count is 0; the free
   * list is well linked and has no duplicate; every registered hash maps to a block that records
   * that hash, its parent and its tokens (which hash to it), and every block recording tokens is
   * the one registered under its hash.
   */
  checkInvariants(tables: readonly (readonly number[])[]): void {
    const n = this.numBlocks;
    const fail = (msg: string): never => {
      throw new Error(`BlockManager invariant: ${msg}`);
    };
    const counts = new Int32Array(n);
    tables.forEach((table, t) =>
      table.forEach((b, i) => {
        if (!(Number.isInteger(b) && b >= 0 && b < n)) fail(`table ${t} position ${i} names block ${b}, outside 0…${n - 1}`);
        counts[b]!++;
      }),
    );
    for (let b = 0; b < n; b++)
      if (this.refs[b] !== counts[b]) fail(`block ${b} has ref count ${this.refs[b]} but appears ${counts[b]} times in the tables`);
    const seen = new Uint8Array(n);
    let length = 0;
    let last = n;
    for (let b = this.next[n]!; b !== n; last = b, b = this.next[b]!) {
      if (!(b >= 0 && b < n)) fail(`free list links to ${b}, outside 0…${n - 1}`);
      if (seen[b]) fail(`block ${b} is in the free list twice`);
      if (this.prev[b] !== last) fail(`block ${b} in the free list has prev ${this.prev[b]}, expected ${last}`);
      seen[b] = 1;
      length++;
    }
    if (this.prev[n] !== last) fail(`free list tail is ${this.prev[n]}, not its last block ${last}`);
    for (let b = 0; b < n; b++) {
      if (seen[b] !== this.inFree[b]) fail(`block ${b} is ${seen[b] ? '' : 'not '}in the free list but flagged ${this.inFree[b] ? 'free' : 'in use'}`);
      if ((this.refs[b] === 0) !== (seen[b] === 1))
        fail(`block ${b} has ref count ${this.refs[b]} but is ${seen[b] ? '' : 'not '}in the free list`);
    }
    if (length !== this.free_) fail(`numFree is ${this.free_} but the free list holds ${length} blocks`);
    for (const [h, b] of this.cached) {
      const tokens = this.tokensOf[b];
      if (this.chain[b] !== h) fail(`hash ${h} maps to block ${b}, which records hash ${this.chain[b]}`);
      if (tokens === null || tokens === undefined) fail(`hash ${h} maps to block ${b}, which records no tokens`);
      if (tokens!.length !== this.blockSize) fail(`block ${b} records ${tokens!.length} tokens, not ${this.blockSize}`);
      if (this.hash(this.parentOf[b]!, tokens!) !== h) fail(`block ${b}'s recorded parent and tokens do not hash to its hash ${h}`);
    }
    for (let b = 0; b < n; b++)
      if (this.tokensOf[b] !== null && this.cached.get(this.chain[b]!) !== b) fail(`block ${b} records tokens but is not registered under its hash ${this.chain[b]}`);
  }

  /** The chained hash of the block at table[index], from its kept chain or recomputed from `tokens`. */
  private chainAt(table: readonly number[], index: number, tokens: ArrayLike<number>): number {
    const b = table[index]!;
    this.checkBlock(b, 'register');
    if (this.chain[b] !== NONE) return this.chain[b]!;
    let h = ROOT_HASH;
    for (let i = 0; i <= index; i++) {
      this.load(tokens, i);
      h = this.hash(h, this.scratch);
    }
    return h;
  }

  /** Copies block `index` of `tokens` into the scratch block. */
  private load(tokens: ArrayLike<number>, index: number): void {
    const base = index * this.blockSize;
    for (let j = 0; j < this.blockSize; j++) this.scratch[j] = tokens[base + j]!;
  }

  /** Whether registered block `b` was chained on `parent` and holds exactly `tokens`. */
  private holds(b: number, parent: number, tokens: Int32Array): boolean {
    const stored = this.tokensOf[b];
    if (stored === null || stored === undefined || this.parentOf[b] !== parent) return false;
    for (let j = 0; j < tokens.length; j++) if (stored[j] !== tokens[j]) return false;
    return true;
  }

  /**
   * Forgets every cached prefix (after the weights changed, cached K/V are stale): no block is
   * registered any more; referenced blocks stay with their tables.
   */
  resetCache(): void {
    for (let b = 0; b < this.numBlocks; b++) this.forget(b);
  }

  /** Drops everything `b` records about its content (it is about to be overwritten). */
  private forget(b: number): void {
    const h = this.chain[b]!;
    if (h !== NONE && this.cached.get(h) === b) this.cached.delete(h);
    this.chain[b] = NONE;
    this.parentOf[b] = NONE;
    this.tokensOf[b] = null;
  }

  private unlink(b: number): void {
    if (this.inFree[b] !== 1) throw new Error(`BlockManager: block ${b} is not in the free list`);
    const p = this.prev[b]!;
    const q = this.next[b]!;
    this.next[p] = q;
    this.prev[q] = p;
    this.inFree[b] = 0;
    this.free_--;
  }

  private append(b: number): void {
    if (this.inFree[b] !== 0) throw new Error(`BlockManager: block ${b} is already in the free list`);
    const tail = this.prev[this.numBlocks]!;
    this.next[tail] = b;
    this.prev[b] = tail;
    this.next[b] = this.numBlocks;
    this.prev[this.numBlocks] = b;
    this.inFree[b] = 1;
    this.free_++;
  }

  private checkBlock(b: number, what: string): void {
    if (!(Number.isInteger(b) && b >= 0 && b < this.numBlocks))
      throw new RangeError(`BlockManager.${what}: block ${b} is outside 0…${this.numBlocks - 1}`);
  }
}
