// pagedAttention / kvCacheWrite / kvCacheCopy against the float64 reference
// (test/helpers/paged-ref.ts). Each attention case builds a cache whose blocks
// are handed out to the sequences in a random permutation; every slot that
// holds no token of the batch (spare blocks, the unwritten tail of a last
// block, the slots of the new tokens before the write) is filled with large
// garbage, and the unused block-table entries point at a garbage block or are
// −1, so a read of a wrong block or slot shows. The new tokens' K/V go in
// through kvCacheWrite (rows shuffled, some −1 padding rows), the caches are
// checked against the expected scatter exactly, then pagedAttention runs.
// Cases: decode batches over context lengths 1, blockSize − 1, blockSize,
// blockSize + 1, several blocks; long single-sequence decodes (≥ 2048 keys:
// the CPU's flash-decoding split) with Hkv 1 and 2; a prefill chunk over a
// cached prefix; fresh prefills; a mixed batch (decode, prefill chunks, a
// sequence with no new tokens, an empty one); GQA groups 1, 2, 6, 7 (the
// Qwen2.5-1.5B 12/2/128 and 0.5B 14/2/64 layouts); Dh 8, 24, 72; block sizes
// 1, 16, 32; a custom scale; peaked scores; bf16 (with f32 K/V converted on
// the write).
import * as torl from '../../../lib/index.js';
import { cacheOffset, kvCacheCopy64, kvCacheWrite64, pagedAttention64, type PagedShape } from '../../helpers/paged-ref.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { floatDType, type OpCase, type Tol } from '../table.js';

/** One sequence of the batch: ctx cached tokens in all, the last n of them new this step. */
interface Seq {
  ctx: number;
  n: number;
}

interface Spec {
  seqs: Seq[];
  Hq: number;
  Hkv: number;
  Dh: number;
  blockSize: number;
  /** multiplies q, for peaked softmaxes */
  qScale?: number;
  /** the scale option (default 1/√Dh) */
  scale?: number;
  dtype?: 'f32' | 'bf16';
  /** k, v reach kvCacheWrite as f32 values not rounded to the cache's dtype */
  kvF32?: boolean;
  /** block-table columns beyond the longest sequence's blocks (default 1) */
  extraCols?: number;
  /** use pagedAttentionAsync */
  async?: boolean;
}

/** A large, NaN-free value of either sign: what a slot that must not be read holds. */
const garbage = (rand: () => number) => (rand() < 0.5 ? -1 : 1) * (100 + 900 * rand());

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function shuffle<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

const i32 = (a: Int32Array, shape: number[], device: string) => torl.tensor(a, shape, { dtype: 'i32', device });

function pagedCase(s: Spec): OpCase {
  const { seqs, Hq, Hkv, Dh, blockSize: BS } = s;
  const name =
    `seqs(ctx/new)=[${seqs.map((q) => `${q.ctx}/${q.n}`).join(',')}] Hq=${Hq} Hkv=${Hkv} Dh=${Dh} blockSize=${BS}` +
    `${s.qScale ? ` q×${s.qScale}` : ''}${s.scale ? ` scale=${s.scale}` : ''}${s.dtype ? ` ${s.dtype}` : ''}` +
    `${s.kvF32 ? ' (k/v f32)' : ''}${s.async ? ' async' : ''}`;
  return {
    op: 'pagedAttention',
    name,
    async run(device) {
      const dtype = s.dtype ?? floatDType(device);
      const round = (a: Float32Array) => (dtype === 'bf16' ? roundBf16(a) : a);
      const rand = rng(hash(name));
      const B = seqs.length;
      const row = Hkv * Dh;

      // block tables: the needed blocks in a random order, then padding columns
      const need = seqs.map((q) => Math.ceil(q.ctx / BS));
      const maxBlocks = Math.max(1, Math.max(...need) + (s.extraCols ?? 1));
      const spare = 3;
      const numBlocks = need.reduce((a, b) => a + b, 0) + spare;
      const perm = shuffle(Array.from({ length: numBlocks }, (_, i) => i), rand);
      const garbageBlocks = perm.slice(numBlocks - spare);
      const blockTables = new Int32Array(B * maxBlocks);
      let next = 0;
      seqs.forEach((_, b) => {
        for (let j = 0; j < maxBlocks; j++)
          blockTables[b * maxBlocks + j] = j < need[b]! ? perm[next++]! : b % 2 === 0 ? garbageBlocks[j % spare]! : -1;
      });
      const cu = new Int32Array(B + 1);
      seqs.forEach((q, b) => (cu[b + 1] = cu[b]! + q.n));
      const T = cu[B]!;
      const contextLens = Int32Array.from(seqs, (q) => q.ctx);
      const scale = s.scale ?? 1 / Math.sqrt(Dh);
      const sh: PagedShape = { Hq, Hkv, Dh, blockSize: BS, blockTables, maxBlocks, cuSeqlensQ: cu, contextLens, scale };

      // the cache before the write: garbage everywhere but the cached prefixes
      const cacheLen = numBlocks * BS * row;
      const k0 = new Float32Array(cacheLen), v0 = new Float32Array(cacheLen);
      for (let i = 0; i < cacheLen; i++) {
        k0[i] = garbage(rand);
        v0[i] = garbage(rand);
      }
      seqs.forEach((q, b) => {
        for (let p = 0; p < q.ctx - q.n; p++)
          for (let hk = 0; hk < Hkv; hk++) {
            const o = cacheOffset(sh, b, p, hk);
            for (let d = 0; d < Dh; d++) {
              k0[o + d] = rand() * 2 - 1;
              v0[o + d] = rand() * 2 - 1;
            }
          }
      });
      const kInit = round(k0), vInit = round(v0);

      // the new tokens' K/V rows, shuffled, with −1 padding rows among them
      const slots: number[] = [];
      seqs.forEach((q, b) => {
        for (let p = q.ctx - q.n; p < q.ctx; p++) slots.push(cacheOffset(sh, b, p, 0) / row);
      });
      const pads = slots.length > 0 ? 2 : 1;
      for (let i = 0; i < pads; i++) slots.push(-1);
      shuffle(slots, rand);
      const slotMapping = Int32Array.from(slots);
      const Tw = slots.length;
      const kvRound = (a: Float32Array) => (s.kvF32 ? a : round(a));
      const kw = kvRound(randn(Tw * row, rand)), vw = kvRound(randn(Tw * row, rand));
      // the values the cache stores: converted to its dtype
      const want = kvCacheWrite64(round(kw), round(vw), kInit, vInit, slotMapping, row);

      const q = round(randn(T * Hq * Dh, rand).map((x) => x * (s.qScale ?? 1)));

      const shape = [numBlocks, BS, Hkv, Dh];
      const KC = torl.tensor(kInit, shape, { dtype, device });
      const VC = torl.tensor(vInit, shape, { dtype, device });
      const kvDType = s.kvF32 ? 'f32' : dtype;
      torl.ops.kvCacheWrite(
        torl.tensor(kw, [Tw, Hkv, Dh], { dtype: kvDType, device }),
        torl.tensor(vw, [Tw, Hkv, Dh], { dtype: kvDType, device }),
        KC,
        VC,
        i32(slotMapping, [Tw], device),
      );
      const gotK = KC.toArray() as Float32Array, gotV = VC.toArray() as Float32Array;

      const args = [
        torl.tensor(q, [T, Hq, Dh], { dtype, device }),
        KC,
        VC,
        i32(blockTables, [B, maxBlocks], device),
        i32(cu, [B + 1], device),
        i32(contextLens, [B], device),
        s.scale ? { scale: s.scale } : {},
      ] as const;
      const out = s.async ? await torl.ops.pagedAttentionAsync(...args) : torl.ops.pagedAttention(...args);
      const ref = pagedAttention64(q, want.k, want.v, sh);

      // f32 on the CPU; bf16 storage (and bf16 probabilities in GPU kernels) elsewhere
      const low = dtype === 'bf16' || device !== 'cpu';
      const tol: Tol = low ? { rtol: 2e-2, atol: 2e-3 } : { rtol: 5e-6, atol: 2e-7 };
      const exact: Tol = { rtol: 0, atol: 0 };
      return {
        'kCache after kvCacheWrite': { got: gotK, want: want.k, tol: exact },
        'vCache after kvCacheWrite': { got: gotV, want: want.v, tol: exact },
        out: { got: out.toArray() as Float32Array, want: ref.v, mag: ref.mag, tol },
      };
    },
  };
}

interface CopySpec {
  numBlocks: number;
  blockSize: number;
  Hkv: number;
  Dh: number;
  src: number[];
  dst: number[];
}

function copyCase(s: CopySpec): OpCase {
  const { numBlocks, blockSize: BS, Hkv, Dh } = s;
  const name = `numBlocks=${numBlocks} blockSize=${BS} Hkv=${Hkv} Dh=${Dh} src=[${s.src.join(',')}] → dst=[${s.dst.join(',')}]`;
  return {
    op: 'kvCacheCopy',
    name,
    run(device) {
      const dtype = floatDType(device);
      const rand = rng(hash(name));
      const n = numBlocks * BS * Hkv * Dh;
      const round = (a: Float32Array) => (dtype === 'bf16' ? roundBf16(a) : a);
      const k = round(randn(n, rand)), v = round(randn(n, rand));
      const shape = [numBlocks, BS, Hkv, Dh];
      const KC = torl.tensor(k, shape, { dtype, device }), VC = torl.tensor(v, shape, { dtype, device });
      const src = Int32Array.from(s.src), dst = Int32Array.from(s.dst);
      torl.ops.kvCacheCopy(KC, VC, i32(src, [src.length], device), i32(dst, [dst.length], device));
      // the whole cache: the destination blocks hold their sources, every other block is untouched
      const want = kvCacheCopy64(k, v, src, dst, BS * Hkv * Dh);
      const exact: Tol = { rtol: 0, atol: 0 };
      return {
        kCache: { got: KC.toArray() as Float32Array, want: want.k, tol: exact },
        vCache: { got: VC.toArray() as Float32Array, want: want.v, tol: exact },
      };
    },
  };
}

const decode = (...ctx: number[]): Seq[] => ctx.map((c) => ({ ctx: c, n: 1 }));

export const pagedAttentionCases: OpCase[] = [
  // decode: context lengths around the block boundaries, several blocks
  pagedCase({ seqs: decode(1, 15, 16, 17, 50, 200), Hq: 4, Hkv: 2, Dh: 64, blockSize: 16 }),
  pagedCase({ seqs: decode(1, 31, 32, 33, 100), Hq: 12, Hkv: 2, Dh: 128, blockSize: 32, async: true }),
  pagedCase({ seqs: decode(1, 2, 7), Hq: 2, Hkv: 1, Dh: 8, blockSize: 1 }),
  // long contexts, one sequence: few (sequence, head) pairs, so the key range is split
  pagedCase({ seqs: decode(2500), Hq: 4, Hkv: 1, Dh: 64, blockSize: 16 }),
  pagedCase({ seqs: decode(3001), Hq: 4, Hkv: 2, Dh: 128, blockSize: 32 }),
  pagedCase({ seqs: decode(2048), Hq: 12, Hkv: 2, Dh: 128, blockSize: 16, extraCols: 0, async: true }),
  pagedCase({ seqs: decode(2600), Hq: 2, Hkv: 1, Dh: 32, blockSize: 16, qScale: 8, scale: 0.3 }),
  pagedCase({ seqs: [{ ctx: 2200, n: 16 }], Hq: 2, Hkv: 2, Dh: 64, blockSize: 32 }),
  // a prefill chunk over a cached prefix
  pagedCase({ seqs: [{ ctx: 100, n: 37 }], Hq: 4, Hkv: 2, Dh: 64, blockSize: 16 }),
  pagedCase({ seqs: [{ ctx: 300, n: 64 }, { ctx: 40, n: 8 }], Hq: 12, Hkv: 2, Dh: 128, blockSize: 16 }),
  // fresh prefills (n = context)
  pagedCase({ seqs: [{ ctx: 45, n: 45 }], Hq: 2, Hkv: 1, Dh: 32, blockSize: 16 }),
  pagedCase({ seqs: [{ ctx: 70, n: 70 }, { ctx: 9, n: 9 }], Hq: 3, Hkv: 3, Dh: 72, blockSize: 16 }),
  // mixed: decode, prefill chunks, a paused sequence (0 new tokens), an empty one, a fresh prefill
  pagedCase({
    seqs: [{ ctx: 33, n: 1 }, { ctx: 80, n: 20 }, { ctx: 50, n: 0 }, { ctx: 1, n: 1 }, { ctx: 0, n: 0 }, { ctx: 30, n: 30 }, { ctx: 150, n: 1 }],
    Hq: 14,
    Hkv: 2,
    Dh: 64,
    blockSize: 16,
  }),
  pagedCase({ seqs: [{ ctx: 70, n: 5 }, { ctx: 33, n: 33 }, { ctx: 64, n: 1 }], Hq: 2, Hkv: 2, Dh: 24, blockSize: 32, extraCols: 0 }),
  pagedCase({ seqs: [{ ctx: 5, n: 1 }, { ctx: 20, n: 3 }, { ctx: 4, n: 0 }, { ctx: 6, n: 6 }], Hq: 2, Hkv: 1, Dh: 8, blockSize: 1 }),
  pagedCase({ seqs: [{ ctx: 90, n: 2 }, { ctx: 17, n: 1 }, { ctx: 48, n: 16 }], Hq: 6, Hkv: 1, Dh: 72, blockSize: 16, async: true }),
  // a custom scale and peaked scores
  pagedCase({ seqs: [{ ctx: 100, n: 4 }, { ctx: 60, n: 1 }], Hq: 2, Hkv: 1, Dh: 32, blockSize: 16, qScale: 8, scale: 0.3 }),
  pagedCase({ seqs: decode(40, 9), Hq: 4, Hkv: 2, Dh: 16, blockSize: 16, scale: 0.05 }),
  // bf16 storage (on every device), K/V handed over in bf16 and in f32
  pagedCase({ seqs: [{ ctx: 40, n: 10 }, { ctx: 20, n: 1 }], Hq: 4, Hkv: 2, Dh: 16, blockSize: 16, dtype: 'bf16' }),
  pagedCase({ seqs: [{ ctx: 70, n: 3 }, { ctx: 2100, n: 1 }], Hq: 12, Hkv: 2, Dh: 128, blockSize: 16, dtype: 'bf16', kvF32: true }),

  // kvCacheCopy: one source to two destinations, then more, block sizes 1, 16, 32; nothing
  copyCase({ numBlocks: 12, blockSize: 16, Hkv: 2, Dh: 64, src: [3, 3, 7], dst: [5, 0, 11] }),
  copyCase({ numBlocks: 9, blockSize: 1, Hkv: 1, Dh: 8, src: [8, 2, 2, 4], dst: [0, 6, 7, 3] }),
  copyCase({ numBlocks: 6, blockSize: 32, Hkv: 2, Dh: 128, src: [1], dst: [4] }),
  copyCase({ numBlocks: 4, blockSize: 16, Hkv: 2, Dh: 24, src: [], dst: [] }),
];
