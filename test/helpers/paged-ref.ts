// Float64 references for the paged KV-cache ops (pagedAttention, kvCacheWrite,
// kvCacheCopy), written from the math in native/include/torl/paged_attention.h
// and sharing nothing with the kernels: each sequence's keys and values are
// gathered position by position through its block table, then every new query
// row gets a plain causal softmax over the positions it sees.
import type { Ref } from './layers-ref.js';

/** The shapes and index arrays of one paged-attention call. */
export interface PagedShape {
  Hq: number;
  Hkv: number;
  Dh: number;
  blockSize: number;
  /** [B, maxBlocks], row-major */
  blockTables: Int32Array;
  maxBlocks: number;
  /** [B + 1]: sequence b's new query rows are cuSeqlensQ[b] … cuSeqlensQ[b+1] − 1 */
  cuSeqlensQ: Int32Array;
  /** [B]: cached tokens of each sequence, its new ones included */
  contextLens: Int32Array;
  scale: number;
}

/** Index of element (position s of sequence b, KV head hk, dim 0) in a [numBlocks, blockSize, Hkv, Dh] cache. */
export function cacheOffset(sh: PagedShape, b: number, s: number, hk: number): number {
  const block = sh.blockTables[b * sh.maxBlocks + Math.floor(s / sh.blockSize)]!;
  return ((block * sh.blockSize + (s % sh.blockSize)) * sh.Hkv + hk) * sh.Dh;
}

/**
 * out [T, Hq, Dh]: new row i of sequence b (at position p = contextLens[b] − n_b + i)
 * attends to cache positions 0 … p of that sequence; mag = Σ_s p_s·|v_s| per entry
 * (the scale of the f32 rounding error, as attention64 reports it).
 */
export function pagedAttention64(q: ArrayLike<number>, kCache: ArrayLike<number>, vCache: ArrayLike<number>, sh: PagedShape): Ref {
  const { Hq, Hkv, Dh, scale, cuSeqlensQ: cu, contextLens } = sh;
  const B = contextLens.length;
  const T = cu[B]!;
  const group = Hq / Hkv;
  const v = new Float64Array(T * Hq * Dh), mag = new Float64Array(T * Hq * Dh);
  for (let b = 0; b < B; b++) {
    const n = cu[b + 1]! - cu[b]!;
    const ctx = contextLens[b]!;
    for (let i = 0; i < n; i++) {
      const t = cu[b]! + i;
      const p = ctx - n + i;
      for (let h = 0; h < Hq; h++) {
        const hk = Math.floor(h / group);
        const qo = (t * Hq + h) * Dh;
        const scores = new Float64Array(p + 1);
        let max = -Infinity;
        for (let s = 0; s <= p; s++) {
          const ko = cacheOffset(sh, b, s, hk);
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot += q[qo + d]! * kCache[ko + d]!;
          scores[s] = dot * scale;
          if (scores[s]! > max) max = scores[s]!;
        }
        let sum = 0;
        for (let s = 0; s <= p; s++) sum += (scores[s] = Math.exp(scores[s]! - max));
        for (let s = 0; s <= p; s++) {
          const w = scores[s]! / sum;
          const vo = cacheOffset(sh, b, s, hk);
          for (let d = 0; d < Dh; d++) {
            v[qo + d] = v[qo + d]! + w * vCache[vo + d]!;
            mag[qo + d] = mag[qo + d]! + w * Math.abs(vCache[vo + d]!);
          }
        }
      }
    }
  }
  return { v, mag };
}

/**
 * The caches after kvCacheWrite: row t of k / v ([T, Hkv, Dh]) lands in slot
 * slotMapping[t] (block · blockSize + offset; −1 skips the row). rowSize = Hkv · Dh.
 */
export function kvCacheWrite64(
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
  slotMapping: Int32Array,
  rowSize: number,
): { k: Float64Array; v: Float64Array } {
  const kOut = Float64Array.from(kCache), vOut = Float64Array.from(vCache);
  slotMapping.forEach((slot, t) => {
    if (slot === -1) return;
    for (let j = 0; j < rowSize; j++) {
      kOut[slot * rowSize + j] = k[t * rowSize + j]!;
      vOut[slot * rowSize + j] = v[t * rowSize + j]!;
    }
  });
  return { k: kOut, v: vOut };
}

/** The caches after kvCacheCopy: block src[i] copied to block dst[i]. blockElems = blockSize · Hkv · Dh. */
export function kvCacheCopy64(
  kCache: ArrayLike<number>,
  vCache: ArrayLike<number>,
  src: Int32Array,
  dst: Int32Array,
  blockElems: number,
): { k: Float64Array; v: Float64Array } {
  const k0 = Float64Array.from(kCache), v0 = Float64Array.from(vCache);
  const k = Float64Array.from(k0), v = Float64Array.from(v0);
  src.forEach((s, i) => {
    const d = dst[i]!;
    for (let j = 0; j < blockElems; j++) {
      k[d * blockElems + j] = k0[s * blockElems + j]!;
      v[d * blockElems + j] = v0[s * blockElems + j]!;
    }
  });
  return { k, v };
}
