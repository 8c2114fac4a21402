import t, { type Test } from 'tap';
import { BlockManager, ROOT_HASH, blockHash, type BlockHashFn } from '../../lib/engine/block-manager.js';
import { rng } from '../helpers/reference.js';

/** n consecutive token ids from `start`. */
const ids = (start: number, n: number): number[] => Array.from({ length: n }, (_, i) => start + i);

/** The internals a corruption test pokes at. */
interface Internals {
  refs: Int32Array;
  next: Int32Array;
  prev: Int32Array;
  inFree: Uint8Array;
  cached: Map<number, number>;
  tokensOf: (Int32Array | null)[];
}

t.test('constructor rejects non-positive and non-integer sizes, naming the field', async (t) => {
  for (const bad of [0, -1, 1.5, NaN, Infinity]) {
    t.throws(() => new BlockManager(bad, 16), /numBlocks must be a positive integer/);
    t.throws(() => new BlockManager(8, bad), /blockSize must be a positive integer/);
  }
  const m = new BlockManager(8, 16);
  t.equal(m.numBlocks, 8);
  t.equal(m.blockSize, 16);
  t.equal(m.numFree, 8);
  t.same(m.stats, { hits: 0, queries: 0 });
  m.checkInvariants([]);
});

t.test('allocate hands out every block once, then throws naming the pool size', async (t) => {
  const m = new BlockManager(4, 16);
  const got = [m.allocate(), m.allocate(), m.allocate(), m.allocate()];
  t.same(got, [0, 1, 2, 3], 'the initial free list is in id order');
  t.equal(m.numFree, 0);
  for (const b of got) t.equal(m.refCount(b), 1);
  t.throws(() => m.allocate(), /out of KV blocks: all 4 blocks of 16 tokens are in use/);
  t.equal(m.numFree, 0, 'the failed allocation changed nothing');
  m.checkInvariants([got]);
  t.throws(() => m.refCount(4), /block 4 is outside 0…3/);
  t.throws(() => m.refCount(-1), /outside/);
});

t.test('free appends to the tail: the least recently freed block comes back first', async (t) => {
  const m = new BlockManager(6, 4);
  const a = [m.allocate(), m.allocate()]; // 0 1
  const b = [m.allocate(), m.allocate()]; // 2 3
  t.equal(m.numFree, 2); // 4 5 still free
  m.free(b);
  t.equal(m.numFree, 4);
  m.free(a);
  t.equal(m.numFree, 6);
  m.checkInvariants([]);
  // free list: 4 5 (never used), then b's blocks last-first (3 2), then a's (1 0)
  t.same(ids(0, 6).map(() => m.allocate()), [4, 5, 3, 2, 1, 0]);
  t.equal(m.numFree, 0);
});

t.test('free refuses a block without a reference, changing nothing', async (t) => {
  const m = new BlockManager(4, 4);
  const x = m.allocate();
  const y = m.allocate();
  t.throws(() => m.free([x, 3]), /block 3 is already free/);
  t.equal(m.refCount(x), 1, 'the reference to x dropped before the failure was restored');
  t.throws(() => m.free([y, y]), /block 1 is already free/);
  t.equal(m.refCount(y), 1);
  t.throws(() => m.free([7]), /block 7 is outside/);
  m.checkInvariants([[x, y]]);
  t.equal(m.numFree, 2);
});

t.test('ref counts through fork and free', async (t) => {
  const m = new BlockManager(8, 4);
  const table = [m.allocate(), m.allocate(), m.allocate()];
  const samples = [table.slice(), table.slice(), table.slice()];
  m.fork(table);
  m.fork(table);
  for (const b of table) t.equal(m.refCount(b), 3);
  m.checkInvariants(samples);
  t.equal(m.numFree, 5);
  m.free(samples.pop()!);
  for (const b of table) t.equal(m.refCount(b), 2);
  t.equal(m.numFree, 5, 'still referenced: nothing freed');
  m.checkInvariants(samples);
  m.free(samples.pop()!);
  m.free(samples.pop()!);
  for (const b of table) t.equal(m.refCount(b), 0);
  t.equal(m.numFree, 8);
  m.checkInvariants([]);
  t.throws(() => m.fork([table[0]!]), /fork: block 0 is free/);
  t.throws(() => m.fork([99]), /outside/);
});

t.test('blockHash: deterministic 53-bit integers that depend on parent, tokens and order', async (t) => {
  const a = blockHash(ROOT_HASH, [1, 2, 3, 4]);
  t.equal(a, blockHash(ROOT_HASH, new Int32Array([1, 2, 3, 4])), 'same for arrays and typed arrays');
  t.ok(Number.isSafeInteger(a) && a >= 0);
  t.not(a, blockHash(ROOT_HASH, [1, 2, 4, 3]), 'order matters');
  t.not(a, blockHash(ROOT_HASH, [1, 2, 3, 5]));
  t.not(a, blockHash(1, [1, 2, 3, 4]), 'parent matters');
  t.not(blockHash(2 ** 40, [1, 2, 3, 4]), blockHash(2 ** 40 + 2 ** 33, [1, 2, 3, 4]), 'high bits of the parent matter');
  t.not(blockHash(ROOT_HASH, [0, 0]), blockHash(ROOT_HASH, [0, 0, 0]), 'length matters');
  // no collisions and both halves used over many random blocks
  const rand = rng(7);
  const seen = new Set<number>();
  let high = 0;
  let outside = 0;
  for (let i = 0; i < 20000; i++) {
    const h = blockHash(Math.floor(rand() * 2 ** 53), ids(Math.floor(rand() * 150000), 16));
    if (!(Number.isSafeInteger(h) && h >= 0)) outside++;
    seen.add(h);
    if (h >= 2 ** 52) high++;
  }
  t.equal(outside, 0, 'all in [0, 2^53)');
  t.equal(seen.size, 20000, 'no collision in 20000 random blocks');
  t.ok(high > 9000 && high < 11000, `top bit set about half the time (${high})`);
});

/** A manager holding one registered sequence of `tokens`; its table freed when `free` is set. */
function withSequence(m: BlockManager, tokens: number[], free: boolean): number[] {
  const bs = m.blockSize;
  const table = ids(0, Math.ceil(tokens.length / bs)).map(() => m.allocate());
  for (let i = 0; i < Math.floor(tokens.length / bs); i++) m.register(table, i, tokens);
  if (free) m.free(table);
  return table;
}

t.test('matchPrefix hits registered full blocks only, up to the first mismatch and maxBlocks', async (t) => {
  const m = new BlockManager(16, 4);
  const seq = ids(100, 14); // blocks 0-2 full, block 3 partial (2 tokens)
  const table = withSequence(m, seq, false);
  t.equal(m.numCached, 3, 'the partial block is not registered');
  t.notOk(m.isRegistered(table[3]!));

  const hit = m.matchPrefix(seq, Infinity);
  t.same(hit, table.slice(0, 3), 'all full blocks hit');
  for (const b of hit) t.equal(m.refCount(b), 2, 'a hit takes a reference');
  t.same(m.stats, { hits: 3, queries: 3 });
  m.checkInvariants([table, hit]);
  m.free(hit);

  const diverge = seq.slice();
  diverge[9] = 0; // in block 2
  t.same(m.matchPrefix(diverge, 10), table.slice(0, 2), 'stops at the first mismatching block');
  m.free(table.slice(0, 2));
  const late = seq.slice(0, 12).concat([1, 2, 3, 4]); // block 3 is new, never registered
  t.same(m.matchPrefix(late, 10), table.slice(0, 3), 'an unregistered block does not hit');
  m.free(table.slice(0, 3));
  const first = seq.slice();
  first[0] = 0; // block 0 differs, blocks 1-2 identical
  t.same(m.matchPrefix(first, 10), [], 'later identical blocks do not hit after a mismatch: their chain differs');
  t.same(m.matchPrefix(seq, 2), table.slice(0, 2), 'at most maxBlocks');
  m.free(table.slice(0, 2));
  t.same(m.matchPrefix(seq, 0), []);
  t.same(m.matchPrefix(seq.slice(0, 3), 5), [], 'shorter than a block');
  t.same(m.matchPrefix(seq.slice(0, 7), 5), table.slice(0, 1), 'only whole blocks of the query');
  m.free(table.slice(0, 1));
  t.same(m.stats, { hits: 3 + 2 + 3 + 0 + 2 + 0 + 0 + 1, queries: 3 + 3 + 4 + 3 + 2 + 0 + 0 + 1 });
  t.throws(() => m.matchPrefix(seq, -1), /maxBlocks must be a non-negative integer/);
  t.throws(() => m.matchPrefix(seq, 1.5), /maxBlocks/);
  m.checkInvariants([table]);
});

t.test('the same block under a different prefix does not hit (its chained hash differs)', async (t) => {
  const m = new BlockManager(8, 4);
  const a = [1, 1, 1, 1, 5, 6, 7, 8];
  const b = [2, 2, 2, 2, 5, 6, 7, 8];
  withSequence(m, a, true);
  const pa = blockHash(ROOT_HASH, a.slice(0, 4));
  const pb = blockHash(ROOT_HASH, b.slice(0, 4));
  t.not(blockHash(pa, [5, 6, 7, 8]), blockHash(pb, [5, 6, 7, 8]));
  const tb = withSequence(m, b.slice(0, 4), false);
  t.same(m.matchPrefix(b, 2), [tb[0]], "b's own block 0 hits; a's block 1 does not");
  m.free(tb);
  m.free(tb);
  m.checkInvariants([]);
});

t.test('a forced hash collision costs a miss, never a wrong hit: tokens and parent are verified', async (t) => {
  // every block hashes to 7: all lookups collide
  const constant = new BlockManager(8, 4, { hash: () => 7 });
  const x = withSequence(constant, [1, 2, 3, 4], true);
  t.same(constant.matchPrefix([9, 9, 9, 9], 1), [], 'same hash, other tokens: a miss');
  t.same(constant.matchPrefix([1, 2, 3, 4], 1), x, 'the registered tokens still hit');
  constant.free(x);
  const y = withSequence(constant, [5, 6, 7, 8], true);
  t.notOk(constant.isRegistered(x[0]!), 'a colliding registration replaces the older block');
  t.ok(constant.isRegistered(y[0]!));
  t.equal(constant.numCached, 1);
  t.same(constant.matchPrefix([1, 2, 3, 4], 1), [], 'the replaced block no longer hits');
  constant.checkInvariants([]);

  // the hash ignores the parent: block 1 of two prefixes collides, its tokens are equal, only the parent tells them apart
  const firstToken: BlockHashFn = (_parent, tokens) => tokens[0]!;
  const m = new BlockManager(8, 4, { hash: firstToken });
  withSequence(m, [1, 1, 1, 1, 5, 5, 5, 5], true);
  const c = withSequence(m, [2, 2, 2, 2, 9, 9, 9, 9], true);
  t.equal(m.numCached, 4);
  t.same(m.matchPrefix([2, 2, 2, 2, 5, 5, 5, 5], 2), [c[0]], 'block 1 matches hash and tokens of a block with another parent: no hit');
  m.free([c[0]!]);
  m.checkInvariants([]);
});

t.test('a free cached block is revived by a hit, and stops hitting once reallocated', async (t) => {
  const m = new BlockManager(3, 2);
  const [b] = withSequence(m, [1, 2], true); // block 0; free list now 1 2 0
  t.equal(m.numFree, 3);
  t.ok(m.isRegistered(b!), 'freeing keeps the hash');
  t.same(m.matchPrefix([1, 2, 3], 5), [b]);
  t.equal(m.refCount(b!), 1);
  t.equal(m.numFree, 2, 'the revived block left the free list');
  m.checkInvariants([[b!]]);
  t.same([m.allocate(), m.allocate()], [1, 2], 'the revived block is not handed out');
  t.throws(() => m.allocate(), /out of KV blocks/);
  m.free([1, 2]); // free list: 2 1 (a table's last block goes first)
  m.free([b!]); // free list: 2 1 0
  t.same(m.matchPrefix([1, 2], 1), [b], 'still cached while free');
  m.free([b!]); // free list: 2 1 0
  const taken = [m.allocate(), m.allocate(), m.allocate()];
  t.same(taken, [2, 1, 0]);
  t.notOk(m.isRegistered(b!), 'reallocation drops the hash');
  t.equal(m.numCached, 0);
  m.free(taken);
  t.same(m.matchPrefix([1, 2], 1), [], 'no hit after reallocation');
  t.same(m.stats, { hits: 2, queries: 3 });
  m.checkInvariants([]);
});

t.test('register is idempotent, chains through duplicates, and checks its arguments', async (t) => {
  const m = new BlockManager(12, 4);
  const seq = ids(10, 12);
  const table = withSequence(m, seq, false);
  m.register(table, 0, seq);
  m.register(table, 2, seq);
  t.equal(m.numCached, 3, 'registering again is a no-op');
  m.checkInvariants([table]);

  // a second copy of the same sequence, prefilled before it could hit: its blocks are duplicates
  const dup = withSequence(m, seq.concat([1, 2, 3, 4]), false);
  t.equal(m.numCached, 4, 'only the new block 3 is registered');
  t.notOk(m.isRegistered(dup[0]!));
  t.ok(m.isRegistered(dup[3]!), 'a block chained on duplicates is registered under the right hash');
  const hit = m.matchPrefix(seq.concat([1, 2, 3, 4]), 4);
  t.same(hit, [...table, dup[3]], 'the originals, then the block registered after the duplicates');
  m.free(hit);

  // forked: both samples register the shared block
  const samples = [table.slice(), table.slice()];
  m.fork(table);
  m.register(samples[1]!, 1, seq);
  t.equal(m.numCached, 4);

  // once the originals are gone, registering the duplicate makes it the cached block
  m.free(table);
  m.free(table);
  t.equal(m.numFree, 12 - 4);
  const rest = ids(0, 8).map(() => m.allocate()); // takes the free blocks, the originals among them
  t.notOk(m.isRegistered(table[0]!));
  m.register(dup, 0, seq);
  t.ok(m.isRegistered(dup[0]!));
  const again = m.matchPrefix(seq, 3);
  t.same(again, [dup[0]], 'the duplicate is hit now (blocks 1-2 were not re-registered)');
  m.free(again);

  t.throws(() => m.register(dup, 4, seq), /index 4 is outside the table/);
  t.throws(() => m.register(dup, 2, seq.slice(0, 11)), /block 2 is not full: 11 tokens < 12/);
  const other = seq.slice();
  other[1] = 0;
  t.throws(() => m.register(dup, 0, other), /block 3 was registered with other tokens/);
  m.free(rest);
  t.throws(() => m.register([rest[0]!], 0, seq), /register: block \d+ is free/);
  t.throws(() => m.register([40], 0, seq), /block 40 is outside/);
  m.checkInvariants([dup]);
});

t.test('copyOnWrite copies a shared block into a fresh one and leaves an unshared one', async (t) => {
  const m = new BlockManager(4, 4);
  const a = [m.allocate(), m.allocate()]; // 0: full, 1: partial
  m.register(a, 0, [1, 2, 3, 4]);
  m.fork(a);
  const b = a.slice();
  const copy = m.copyOnWrite(b, 1);
  t.same(copy, { src: 1, dst: 2 });
  t.same(b, [0, 2], 'the table entry is replaced');
  t.same(a, [0, 1], 'the other table is untouched');
  t.equal(m.refCount(1), 1);
  t.equal(m.refCount(2), 1);
  m.checkInvariants([a, b]);
  t.equal(m.copyOnWrite(a, 1), null, 'now unshared: no copy');
  t.same(a, [0, 1]);
  t.equal(m.copyOnWrite(b, 1), null);
  t.throws(() => m.copyOnWrite(a, 0), /block 0 is a registered full block/);
  t.throws(() => m.copyOnWrite(a, 2), /index 2 is outside the table/);

  // a shared partial block with no free block to copy into: throws, changes nothing
  m.fork([1]);
  const c = [1];
  m.allocate(); // block 3, the last free one
  t.throws(() => m.copyOnWrite(c, 0), /out of KV blocks/);
  t.same(c, [1]);
  t.equal(m.refCount(1), 2);
  m.checkInvariants([a, b, c, [3]]);
});

t.test('checkInvariants names the block and the broken rule', async (t) => {
  const m = new BlockManager(6, 2);
  const table = withSequence(m, [1, 2, 3, 4, 5], false); // 0 1 2
  m.checkInvariants([table]);
  t.throws(() => m.checkInvariants([table, [4]]), /block 4 has ref count 0 but appears 1 times/, 'a table referencing a free block');
  t.throws(() => m.checkInvariants([table.slice(0, 2)]), /block 2 has ref count 1 but appears 0 times/, 'a ref count that disagrees');
  t.throws(() => m.checkInvariants([table, table]), /block 0 has ref count 1 but appears 2 times/);
  t.throws(() => m.checkInvariants([[9]]), /table 0 position 0 names block 9/);

  const corrupt = (f: (x: Internals) => void, msg: RegExp, what: string): void => {
    const c = new BlockManager(6, 2);
    const tb = withSequence(c, [1, 2, 3, 4, 5], false);
    f(c as unknown as Internals);
    t.throws(() => c.checkInvariants([tb]), msg, what);
  };
  corrupt((x) => (x.refs[4] = 1), /block 4 has ref count 1 but appears 0 times/, 'a free block with a reference');
  corrupt(
    (x) => {
      // 3 → 4 → 3: block 3 twice in the free list
      x.next[4] = 3;
    },
    /block 3 is in the free list twice/,
    'a duplicate in the free list',
  );
  corrupt(
    (x) => {
      // unlink 5 from the list but keep it flagged free with ref count 0
      x.next[4] = 6;
      x.prev[6] = 4;
    },
    /block 5 is not in the free list but flagged free/,
    'a free block missing from the free list',
  );
  corrupt((x) => (x.prev[5] = 3), /block 5 in the free list has prev 3, expected 4/, 'a broken back link');
  corrupt((x) => x.cached.set(12345, 1), /hash 12345 maps to block 1, which records hash/, 'a hash mapping to the wrong block');
  corrupt((x) => (x.tokensOf[1]![0] = 99), /block 1's recorded parent and tokens do not hash/, 'altered stored tokens');
  corrupt(
    (x) => {
      const h = [...x.cached].find(([, b]) => b === 1)![0];
      x.cached.delete(h);
    },
    /block 1 records tokens but is not registered/,
    'a stale token record',
  );
});

/**
 * A seeded random workload: sequences arrive (prefix match, then allocate and "prefill"),
 * decode one token at a time (copy-on-write, new blocks, registration as blocks fill), fork
 * into samples and finish, while a model of the device memory checks that every hit and every
 * copy yields exactly the tokens the sequence needs. Invariants are checked after every step.
 */
function workload(t: Test, seed: number, hash?: BlockHashFn): void {
  const rand = rng(seed);
  const pick = (n: number): number => Math.floor(rand() * n);
  const bs = 4;
  const m = new BlockManager(32, bs, hash ? { hash } : {});
  // the "device": which token each slot of each block holds (-1: garbage)
  const device = Array.from({ length: m.numBlocks }, () => new Int32Array(bs).fill(-1));
  const prompts = [ids(1, 11), ids(1, 6).concat(ids(40, 9)), ids(70, 8), [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]];
  interface Seq {
    tokens: number[];
    table: number[];
  }
  const live: Seq[] = [];
  let copies = 0;
  let evictions = 0;
  const bad: string[] = [];
  const expectContent = (s: Seq, upTo: number, what: string): void => {
    for (let p = 0; p < upTo; p++) {
      const got = device[s.table[Math.floor(p / bs)]!]![p % bs];
      if (got !== s.tokens[p]) bad.push(`${what}: position ${p} holds ${got}, want ${s.tokens[p]}`);
    }
  };
  const write = (s: Seq, p: number): void => {
    const b = s.table[Math.floor(p / bs)]!;
    if (m.refCount(b) !== 1 || m.isRegistered(b)) bad.push(`write into block ${b}: ref ${m.refCount(b)}, registered ${m.isRegistered(b)}`);
    device[b]![p % bs] = s.tokens[p]!;
  };
  const finish = (i: number): void => {
    m.free(live[i]!.table);
    live.splice(i, 1);
  };
  for (let step = 0; step < 3000; step++) {
    const op = rand();
    if (live.length === 0 || (op < 0.25 && live.length < 10)) {
      const base = prompts[pick(prompts.length)]!;
      const tokens = base.concat(ids(200 + pick(5), pick(6)));
      const maxBlocks = Math.floor((tokens.length - 1) / bs); // at least one token left to compute
      const table = m.matchPrefix(tokens, maxBlocks);
      const s: Seq = { tokens, table };
      expectContent(s, table.length * bs, `hit at step ${step}`);
      const need = Math.ceil(tokens.length / bs) - table.length;
      if (need > m.numFree) {
        m.free(table);
        if (live.length > 0) {
          finish(pick(live.length));
          evictions++;
        }
      } else {
        for (let i = 0; i < need; i++) table.push(m.allocate());
        for (let p = (table.length - need) * bs; p < tokens.length; p++) write(s, p);
        for (let i = 0; i < Math.floor(tokens.length / bs); i++) m.register(table, i, tokens);
        live.push(s);
      }
    } else if (op < 0.7) {
      const s = live[pick(live.length)]!;
      const p = s.tokens.length;
      s.tokens.push(pick(3) === 0 ? 500 : 300 + pick(50));
      const index = Math.floor(p / bs);
      if (index === s.table.length) {
        if (m.numFree === 0) {
          t.throws(() => m.allocate(), /out of KV blocks/);
          s.tokens.pop();
          finish(pick(live.length));
          evictions++;
        } else {
          s.table.push(m.allocate());
        }
      } else if (m.refCount(s.table[index]!) > 1 && m.numFree === 0) {
        s.tokens.pop(); // no room for the copy: finish someone else first
        finish(live.indexOf(s) === 0 && live.length > 1 ? 1 : 0);
        evictions++;
      } else {
        const copy = m.copyOnWrite(s.table, index);
        if (copy) {
          device[copy.dst]!.set(device[copy.src]!);
          copies++;
        }
      }
      if (s.tokens.length === p + 1 && live.includes(s)) {
        write(s, p);
        if ((p + 1) % bs === 0) m.register(s.table, index, s.tokens);
        expectContent(s, s.tokens.length, `decode at step ${step}`);
      }
    } else if (op < 0.82) {
      const s = live[pick(live.length)]!;
      m.fork(s.table);
      live.push({ tokens: s.tokens.slice(), table: s.table.slice() });
    } else {
      finish(pick(live.length));
    }
    if (live.some((s) => s.tokens.length > 40)) finish(live.findIndex((s) => s.tokens.length > 40));
    m.checkInvariants(live.map((s) => s.table));
    if (bad.length) break;
  }
  t.same(bad, [], 'every hit, copy and write saw the tokens its sequence needs');
  while (live.length) finish(live.length - 1);
  m.checkInvariants([]);
  t.equal(m.numFree, m.numBlocks, 'every block is free at the end');
  t.ok(ids(0, m.numBlocks).every((b) => m.refCount(b) === 0), 'every ref count is 0');
  t.ok(m.stats.hits > (hash ? 20 : 100), `prefix hits happened (${m.stats.hits} of ${m.stats.queries})`);
  t.ok(copies > 20, `copy-on-write happened (${copies})`);
  t.ok(evictions > 0, `the pool ran full (${evictions} times)`);
}

t.test('randomised workload keeps the invariants and the contents right', async (t) => {
  for (const seed of [1, 2, 3]) t.test(`seed ${seed}`, async (t) => workload(t, seed));
});

t.test('randomised workload with a weak hash (many collisions)', async (t) => {
  const weak: BlockHashFn = (parent, tokens) => (parent * 3 + tokens[0]! + tokens[3]!) % 5;
  for (const seed of [4, 5]) t.test(`seed ${seed}`, async (t) => workload(t, seed, weak));
});
