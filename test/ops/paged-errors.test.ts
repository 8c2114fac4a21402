// Bad input to the paged KV-cache ops (pagedAttention, kvCacheWrite,
// kvCacheCopy): each throws a torl error naming the problem, synchronously
// (also from pagedAttentionAsync), a refused write or copy leaves the cache
// untouched, and what the header allows (−1 in slotMapping, block-table
// entries past a sequence's context, a repeated copy source) is accepted.
import t from 'tap';

import * as torl from '../../lib/index.js';

const ops = torl.ops;
const f32 = (shape: number[]) => torl.zeros(shape);
const bf16 = (shape: number[]) => torl.zeros(shape, { dtype: 'bf16' });
const i32 = (values: number[], shape = [values.length]) => torl.tensor(Int32Array.from(values), shape, { dtype: 'i32' });

t.test('pagedAttention', async (t) => {
  // 8 blocks of 4 slots, Hkv 2, Dh 8; two sequences: 2 new of 5 cached, 4 new of 4
  const q = f32([6, 4, 8]), kc = f32([8, 4, 2, 8]), vc = f32([8, 4, 2, 8]);
  const bt = i32([0, 1, 7, 7, 4, 2, 2, 2], [2, 4]), cu = i32([0, 2, 6]), cl = i32([5, 4]);
  type Args = Parameters<typeof ops.pagedAttention>;
  const fwd = (...a: Args) => () => ops.pagedAttention(...a);
  t.doesNotThrow(fwd(q, kc, vc, bt, cu, cl), 'the valid call');
  t.same(ops.pagedAttention(q, kc, vc, bt, cu, cl).shape, [6, 4, 8], 'out is [T, Hq, Dh]');

  // shapes and dtypes
  t.throws(fwd(f32([6, 32]), kc, vc, bt, cu, cl), /pagedAttention: q must be 3-D \[T, Hq, Dh\], got shape \[6, 32\]/);
  t.throws(fwd(f32([6, 4, 8, 1]), kc, vc, bt, cu, cl), /pagedAttention: q must be 3-D \[T, Hq, Dh\]/);
  t.throws(fwd(torl.zeros([6, 4, 8], { dtype: 'i32' }), kc, vc, bt, cu, cl), /pagedAttention: q must be f32 or bf16, got i32/);
  t.throws(fwd(q, f32([8, 4, 16]), f32([8, 4, 16]), bt, cu, cl), /pagedAttention: kCache must be 4-D \[numBlocks, blockSize, Hkv, Dh\], got shape \[8, 4, 16\]/);
  t.throws(fwd(q, kc, f32([8, 4, 1, 8]), bt, cu, cl), /pagedAttention: vCache must have kCache's shape \[8, 4, 2, 8\], got \[8, 4, 1, 8\]/);
  t.throws(fwd(q, kc, bf16([8, 4, 2, 8]), bt, cu, cl), /pagedAttention: kCache and vCache must share one dtype, got f32 and bf16/);
  t.throws(fwd(q, f32([8, 4, 2, 16]), f32([8, 4, 2, 16]), bt, cu, cl), /pagedAttention: kCache's head dimension \(16\) must equal q's \(8\)/);
  t.throws(fwd(f32([6, 4, 12]), f32([8, 4, 2, 12]), f32([8, 4, 2, 12]), bt, cu, cl), /pagedAttention: the head dimension Dh of q must be a positive multiple of 8, got 12/);
  t.throws(fwd(q, f32([8, 4, 3, 8]), f32([8, 4, 3, 8]), bt, cu, cl), /pagedAttention: the KV heads of the cache \(3\) must divide the query heads of q \(4\)/);
  t.throws(fwd(q, bf16([8, 4, 2, 8]), bf16([8, 4, 2, 8]), bt, cu, cl), /pagedAttention: the cache must have q's dtype \(f32\), got bf16/);
  t.throws(fwd(q, kc, vc, bt, cu, cl, { scale: -1 }), /pagedAttention: option scale must be > 0, got -1/);
  t.throws(fwd(q, kc, vc, bt, cu, cl, { scale: 0 }), /pagedAttention: option scale must be > 0, got 0/);
  t.throws(fwd(q, kc, vc, bt, cu, cl, { scale: Infinity }), /pagedAttention: option scale must be finite, got inf/);

  // index tensors
  t.throws(fwd(q, kc, vc, torl.tensor([0, 1, 7, 7, 4, 2, 2, 2], [2, 4]), cu, cl), /pagedAttention: blockTables must be i32, got f32/);
  t.throws(fwd(q, kc, vc, i32([0, 1, 7, 7, 4, 2, 2, 2]), cu, cl), /pagedAttention: blockTables must be 2-D \[B, maxBlocks\], got shape \[8\]/);
  t.throws(fwd(q, kc, vc, bt, torl.tensor([0, 2, 6], [3]), cl), /pagedAttention: cuSeqlensQ must be i32, got f32/);
  t.throws(fwd(q, kc, vc, bt, i32([0, 2, 6], [1, 3]), cl), /pagedAttention: cuSeqlensQ must be 1-D, got shape \[1, 3\]/);
  t.throws(fwd(q, kc, vc, bt, cu, torl.tensor([5, 4], [2])), /pagedAttention: contextLens must be i32, got f32/);
  t.throws(fwd(q, kc, vc, bt, i32([0, 6]), cl), /pagedAttention: cuSeqlensQ must have B \+ 1 = 3 entries \(B = the rows of blockTables\), got 2/);
  t.throws(fwd(q, kc, vc, bt, i32([0, 2, 4, 6]), cl), /pagedAttention: cuSeqlensQ must have B \+ 1 = 3 entries \(B = the rows of blockTables\), got 4/);
  t.throws(fwd(q, kc, vc, bt, cu, i32([5, 4, 1])), /pagedAttention: contextLens must have B = 2 entries, got 3/);

  // index values
  t.throws(fwd(q, kc, vc, bt, i32([1, 2, 6]), cl), /pagedAttention: cuSeqlensQ must start at 0, got 1/);
  t.throws(fwd(q, kc, vc, bt, i32([0, 2, 5]), cl), /pagedAttention: cuSeqlensQ must end at T = 6 \(the rows of q\), got 5/);
  t.throws(fwd(q, kc, vc, bt, i32([0, 2, 7]), cl), /pagedAttention: cuSeqlensQ must end at T = 6 \(the rows of q\), got 7/);
  t.throws(fwd(q, kc, vc, bt, i32([0, 7, 6]), i32([8, 4])), /pagedAttention: cuSeqlensQ must be non-decreasing, got cuSeqlensQ\[2\] = 6 < cuSeqlensQ\[1\] = 7/);
  t.throws(fwd(q, kc, vc, bt, cu, i32([5, 3])), /pagedAttention: contextLens\[1\] = 3 must be in \[4 \(its new tokens\), 16 \(maxBlocks · blockSize\)\]/);
  t.throws(fwd(q, kc, vc, bt, cu, i32([1, 4])), /pagedAttention: contextLens\[0\] = 1 must be in \[2 \(its new tokens\), 16/);
  t.throws(fwd(q, kc, vc, bt, cu, i32([17, 4])), /pagedAttention: contextLens\[0\] = 17 must be in \[2 \(its new tokens\), 16 \(maxBlocks · blockSize\)\]/);
  t.throws(fwd(q, kc, vc, bt, cu, i32([-1, 4])), /pagedAttention: contextLens\[0\] = -1 must be in/);
  t.throws(fwd(q, kc, vc, i32([0, 8, 7, 7, 4, 2, 2, 2], [2, 4]), cu, cl), /pagedAttention: blockTables\[0, 1\] = 8 is outside \[0, numBlocks = 8\)/);
  t.throws(fwd(q, kc, vc, i32([0, 1, 7, 7, -1, 2, 2, 2], [2, 4]), cu, cl), /pagedAttention: blockTables\[1, 0\] = -1 is outside \[0, numBlocks = 8\)/);
  // a context of 9 reaches a third block
  t.throws(fwd(q, kc, vc, i32([0, 1, 99, 7, 4, 2, 2, 2], [2, 4]), cu, i32([9, 4])), /pagedAttention: blockTables\[0, 2\] = 99 is outside \[0, numBlocks = 8\)/);
  // entries past a sequence's context are never read, so they may hold anything
  t.doesNotThrow(fwd(q, kc, vc, i32([0, 1, -1, 99, 4, -1, 1000, -7], [2, 4]), cu, cl), 'block ids past the context are not checked');
  t.doesNotThrow(fwd(q, kc, vc, bt, cu, i32([16, 16])), 'contextLens may fill the table');
  t.doesNotThrow(fwd(f32([0, 4, 8]), kc, vc, bt, i32([0, 0, 0]), cl), 'no new tokens at all');

  // disposed inputs, the async form
  const gone = f32([6, 4, 8]);
  gone.dispose();
  t.throws(fwd(gone, kc, vc, bt, cu, cl), /pagedAttention: q has been disposed/);
  t.throws(() => ops.pagedAttentionAsync(q, kc, vc, bt, i32([0, 2, 5]), cl), /pagedAttention: cuSeqlensQ must end at T = 6/);
  t.throws(() => ops.pagedAttentionAsync(q, kc, vc, bt, cu, i32([5, 3])), /pagedAttention: contextLens\[1\] = 3 must be in/);
  const out = await ops.pagedAttentionAsync(q, kc, vc, bt, cu, cl);
  t.same(out.shape, [6, 4, 8], 'the async form resolves to out');
});

t.test('kvCacheWrite', async (t) => {
  // 8 blocks of 4 slots = 32 slots, Hkv 2, Dh 8
  const k = f32([3, 2, 8]), v = f32([3, 2, 8]);
  const kc = torl.tensor(new Float32Array(8 * 4 * 2 * 8).fill(5), [8, 4, 2, 8]);
  const vc = torl.tensor(new Float32Array(8 * 4 * 2 * 8).fill(7), [8, 4, 2, 8]);
  const w = (...a: Parameters<typeof ops.kvCacheWrite>) => () => ops.kvCacheWrite(...a);
  t.throws(w(f32([3, 1, 8]), f32([3, 1, 8]), kc, vc, i32([0, 1, 2])), /kvCacheWrite: k must be \[T, 2, 8\] \(the cache's Hkv, Dh\), got \[3, 1, 8\]/);
  t.throws(w(f32([3, 2, 16]), f32([3, 2, 16]), kc, vc, i32([0, 1, 2])), /kvCacheWrite: k must be \[T, 2, 8\] \(the cache's Hkv, Dh\), got \[3, 2, 16\]/);
  t.throws(w(f32([6, 8]), f32([6, 8]), kc, vc, i32([0, 1, 2])), /kvCacheWrite: k must be \[T, 2, 8\]/);
  t.throws(w(k, f32([2, 2, 8]), kc, vc, i32([0, 1, 2])), /kvCacheWrite: v must have k's shape \[3, 2, 8\], got \[2, 2, 8\]/);
  t.throws(w(torl.zeros([3, 2, 8], { dtype: 'i32' }), v, kc, vc, i32([0, 1, 2])), /kvCacheWrite: k must be f32 or bf16, got i32/);
  t.throws(w(k, v, f32([8, 4, 16]), f32([8, 4, 16]), i32([0, 1, 2])), /kvCacheWrite: kCache must be 4-D \[numBlocks, blockSize, Hkv, Dh\]/);
  t.throws(w(k, v, kc, f32([8, 2, 2, 8]), i32([0, 1, 2])), /kvCacheWrite: vCache must have kCache's shape \[8, 4, 2, 8\], got \[8, 2, 2, 8\]/);
  t.throws(w(k, v, kc, vc, torl.tensor([0, 1, 2], [3])), /kvCacheWrite: slotMapping must be i32, got f32/);
  t.throws(w(k, v, kc, vc, i32([0, 1])), /kvCacheWrite: slotMapping must have T = 3 entries, got 2/);
  t.throws(w(k, v, kc, vc, i32([0, 1, 2], [3, 1])), /kvCacheWrite: slotMapping must be 1-D, got shape \[3, 1\]/);
  t.throws(w(k, v, kc, vc, i32([0, 32, 1])), /kvCacheWrite: slotMapping\[1\] = 32 is outside \[0, 32\) \(numBlocks · blockSize\) and is not −1/);
  t.throws(w(k, v, kc, vc, i32([-2, 0, 1])), /kvCacheWrite: slotMapping\[0\] = -2 is outside \[0, 32\)/);
  t.throws(w(k, v, kc, vc, i32([5, 1, 5])), /kvCacheWrite: slotMapping\[2\] = 5 repeats an earlier slot/);
  t.throws(w(k, v, kc, vc, i32([31, 31, 0])), /kvCacheWrite: slotMapping\[1\] = 31 repeats an earlier slot/);
  t.same(Array.from(new Set(kc.toArray() as Float32Array)), [5], 'refused writes leave kCache untouched');
  t.same(Array.from(new Set(vc.toArray() as Float32Array)), [7], 'refused writes leave vCache untouched');

  // −1 skips a row (and may repeat); the other rows land in their slots, nothing else changes
  const rows = (base: number) => Float32Array.from({ length: 4 * 16 }, (_, i) => base + Math.floor(i / 16) + (i % 16) / 100);
  const kc2 = f32([8, 4, 2, 8]), vc2 = f32([8, 4, 2, 8]);
  ops.kvCacheWrite(torl.tensor(rows(1), [4, 2, 8]), torl.tensor(rows(-10), [4, 2, 8]), kc2, vc2, i32([-1, 6, -1, 17]));
  const gotK = kc2.toArray() as Float32Array, gotV = vc2.toArray() as Float32Array;
  const wantK = new Float32Array(8 * 4 * 16), wantV = new Float32Array(8 * 4 * 16);
  wantK.set(rows(1).subarray(16, 32), 6 * 16);
  wantK.set(rows(1).subarray(48, 64), 17 * 16);
  wantV.set(rows(-10).subarray(16, 32), 6 * 16);
  wantV.set(rows(-10).subarray(48, 64), 17 * 16);
  t.same(Array.from(gotK), Array.from(wantK), 'kCache: rows 1 and 3 in slots 6 and 17, the −1 rows skipped');
  t.same(Array.from(gotV), Array.from(wantV), 'vCache: rows 1 and 3 in slots 6 and 17, the −1 rows skipped');
  ops.kvCacheWrite(torl.tensor(rows(3), [4, 2, 8]), torl.tensor(rows(3), [4, 2, 8]), kc2, vc2, i32([-1, -1, -1, -1]));
  t.same(Array.from(kc2.toArray() as Float32Array), Array.from(wantK), 'an all −1 slotMapping writes nothing');
  t.doesNotThrow(w(f32([0, 2, 8]), f32([0, 2, 8]), kc2, vc2, torl.tensor(new Int32Array(0), [0], { dtype: 'i32' })), 'no rows at all');

  // k, v in another float dtype than the cache's are converted
  const kb = bf16([8, 4, 2, 8]), vb = bf16([8, 4, 2, 8]);
  ops.kvCacheWrite(torl.tensor(rows(1), [4, 2, 8]), torl.tensor(rows(1), [4, 2, 8]), kb, vb, i32([0, 1, 2, 3]));
  t.equal(kb.dtype, 'bf16', 'the cache keeps its dtype');
  t.equal((kb.toArray() as Float32Array)[16], 2, 'an f32 row lands in a bf16 cache');
});

t.test('kvCacheCopy', async (t) => {
  const kc = torl.tensor(Float32Array.from({ length: 8 * 64 }, (_, i) => i), [8, 4, 2, 8]);
  const vc = torl.tensor(Float32Array.from({ length: 8 * 64 }, (_, i) => -i), [8, 4, 2, 8]);
  const c = (...a: Parameters<typeof ops.kvCacheCopy>) => () => ops.kvCacheCopy(...a);
  t.throws(c(kc, vc, i32([1, 2]), i32([3])), /kvCacheCopy: src and dst must have one length, got 2 and 1/);
  t.throws(c(kc, vc, i32([8]), i32([3])), /kvCacheCopy: src\[0\] = 8 is outside \[0, numBlocks = 8\)/);
  t.throws(c(kc, vc, i32([1, -1]), i32([3, 4])), /kvCacheCopy: src\[1\] = -1 is outside \[0, numBlocks = 8\)/);
  t.throws(c(kc, vc, i32([1]), i32([-1])), /kvCacheCopy: dst\[0\] = -1 is outside \[0, numBlocks = 8\)/);
  t.throws(c(kc, vc, i32([1, 2]), i32([3, 8])), /kvCacheCopy: dst\[1\] = 8 is outside \[0, numBlocks = 8\)/);
  t.throws(c(kc, vc, i32([1, 2]), i32([3, 1])), /kvCacheCopy: dst\[1\] = 1 is also a source/);
  t.throws(c(kc, vc, i32([2]), i32([2])), /kvCacheCopy: dst\[0\] = 2 is also a source/);
  t.throws(c(kc, vc, i32([1, 2]), i32([2, 5])), /kvCacheCopy: dst\[0\] = 2 is also a source/);
  t.throws(c(kc, vc, i32([1, 2]), i32([3, 3])), /kvCacheCopy: dst\[1\] = 3 repeats/);
  t.throws(c(kc, vc, torl.tensor([1], [1]), i32([3])), /kvCacheCopy: src must be i32, got f32/);
  t.throws(c(kc, vc, i32([1]), i32([3], [1, 1])), /kvCacheCopy: dst must be 1-D, got shape \[1, 1\]/);
  t.throws(c(kc, f32([8, 4, 2, 16]), i32([1]), i32([3])), /kvCacheCopy: vCache must have kCache's shape \[8, 4, 2, 8\], got \[8, 4, 2, 16\]/);
  t.throws(c(kc, bf16([8, 4, 2, 8]), i32([1]), i32([3])), /kvCacheCopy: kCache and vCache must share one dtype, got f32 and bf16/);
  t.same(Array.from(kc.toArray() as Float32Array), Array.from({ length: 8 * 64 }, (_, i) => i), 'refused copies leave kCache untouched');
  t.same(Array.from(vc.toArray() as Float32Array), Array.from({ length: 8 * 64 }, (_, i) => -i), 'refused copies leave vCache untouched');

  // a source may feed several destinations
  ops.kvCacheCopy(kc, vc, i32([1, 1]), i32([0, 6]));
  const k = kc.toArray() as Float32Array;
  t.same(Array.from(k.subarray(0, 64)), Array.from(k.subarray(64, 128)), 'block 1 copied to block 0');
  t.same(Array.from(k.subarray(384, 448)), Array.from(k.subarray(64, 128)), 'block 1 copied to block 6');
  t.equal(k[128], 128, 'block 2 untouched');
});

const cuda = torl.backends().cuda;
t.test('devices must match', { skip: cuda.available ? false : `no GPU: ${cuda.reason ?? 'unavailable'}` }, async (t) => {
  const g = (shape: number[]) => torl.zeros(shape, { device: 'cuda' });
  const q = g([6, 4, 8]), kc = g([8, 4, 2, 8]), vc = g([8, 4, 2, 8]);
  const gi = (values: number[], shape = [values.length]) => torl.tensor(Int32Array.from(values), shape, { dtype: 'i32', device: 'cuda' });
  const bt = gi([0, 1, 7, 7, 4, 2, 2, 2], [2, 4]), cu = gi([0, 2, 6]), cl = gi([5, 4]);
  t.doesNotThrow(() => ops.pagedAttention(q, kc, vc, bt, cu, cl), 'all on the GPU');
  t.throws(() => ops.pagedAttention(q, kc, vc, i32([0, 1, 7, 7, 4, 2, 2, 2], [2, 4]), cu, cl), /pagedAttention: q is on cuda:0 but blockTables is on cpu/);
  t.throws(() => ops.pagedAttention(q, f32([8, 4, 2, 8]), f32([8, 4, 2, 8]), bt, cu, cl), /pagedAttention: q is on cuda:0 but kCache is on cpu/);
  t.throws(() => ops.kvCacheWrite(g([3, 2, 8]), g([3, 2, 8]), kc, vc, i32([0, 1, 2])), /kvCacheWrite: k is on cuda:0 but slotMapping is on cpu/);
  t.throws(() => ops.kvCacheCopy(kc, vc, i32([1]), gi([3])), /kvCacheCopy: kCache is on cuda:0 but src is on cpu/);
});
