// The generation engine's ops: attention of new tokens over a paged KV cache,
// and the two cache writers (see native/include/torl/paged_attention.h).
// Cache: kCache, vCache [numBlocks, blockSize, Hkv, Dh]; cache position s of
// sequence b is slot s % blockSize of block blockTables[b, ⌊s / blockSize⌋].
// Index tensors are i32 on the op's device.
import type { NativeTensor } from '../native.js';
import type { AsyncForms } from './train.js';

export interface PagedOpsSync {
  /**
   * q [T, Hq, Dh] (the new tokens of B sequences, packed: sequence b owns rows
   * [cuSeqlensQ[b], cuSeqlensQ[b+1])) against the cache; contextLens[b] counts b's cached
   * tokens including the new ones (already written), so new row i of b is at position
   * contextLens[b] − n_b + i and sees positions 0 … that one. blockTables [B, maxBlocks].
   * Returns out [T, Hq, Dh] in q's dtype; the cache must have q's dtype. scale defaults to 1/√Dh.
   */
  pagedAttention(
    q: NativeTensor,
    kCache: NativeTensor,
    vCache: NativeTensor,
    blockTables: NativeTensor,
    cuSeqlensQ: NativeTensor,
    contextLens: NativeTensor,
    options?: { scale?: number },
  ): NativeTensor;
  /** Writes k, v [T, Hkv, Dh] into cache slot slotMapping[t] (block · blockSize + offset; −1 skips), in place. */
  kvCacheWrite(k: NativeTensor, v: NativeTensor, kCache: NativeTensor, vCache: NativeTensor, slotMapping: NativeTensor): void;
  /** Copies whole blocks src[i] → dst[i] of both caches, in place (copy-on-write of a shared block). */
  kvCacheCopy(kCache: NativeTensor, vCache: NativeTensor, src: NativeTensor, dst: NativeTensor): void;
}

export interface PagedOps extends PagedOpsSync, AsyncForms<PagedOpsSync> {}
