// Bad input to add / addInPlace: each throws a torl error naming the argument,
// synchronously (also from the async forms), and leaves dst untouched.
import t from 'tap';

import * as torl from '../../lib/index.js';

const ops = torl.ops;
const f32 = (shape: number[]) => torl.zeros(shape);

t.test('add', async (t) => {
  const a = f32([3, 4]);
  t.throws(() => ops.add(a, f32([4, 3])), /add: b must have a's shape \[3, 4\], got \[4, 3\]/);
  t.throws(() => ops.add(a, f32([12])), /add: b must have a's shape \[3, 4\], got \[12\]/);
  t.throws(() => ops.add(torl.zeros([3, 4], { dtype: 'i32' }), a), /add: a must be f32 or bf16, got i32/);
  t.throws(() => ops.add(a, torl.zeros([3, 4], { dtype: 'f16' })), /add: b must be f32 or bf16, got f16/);
  t.throws(() => ops.add(a, a, { alpha: Number.NaN }), /add: option alpha must be finite, got nan/);
  t.throws(() => ops.add(a, a, { alpha: 'x' as unknown as number }), /add: option alpha must be a number/);
  t.throws(() => ops.add(a, {} as torl.Tensor), /add: b must be a Tensor/);
  const gone = f32([3, 4]);
  gone.dispose();
  t.throws(() => ops.add(gone, a), /add: a has been disposed/);
  t.throws(() => ops.addAsync(a, f32([2])), /add: b must have a's shape/);
});

t.test('addInPlace', async (t) => {
  const dst = torl.tensor([1, 2, 3], [3]);
  t.throws(() => ops.addInPlace(dst, f32([4])), /addInPlace: src must have dst's shape \[3\], got \[4\]/);
  t.throws(() => ops.addInPlace(dst, torl.zeros([3], { dtype: 'u8' })), /addInPlace: src must be f32 or bf16, got u8/);
  t.throws(() => ops.addInPlace(torl.zeros([3], { dtype: 'i64' }), dst), /addInPlace: dst must be f32 or bf16, got i64/);
  t.throws(() => ops.addInPlace(dst, dst, { alpha: Infinity }), /addInPlace: option alpha must be finite, got inf/);
  t.throws(() => ops.addInPlaceAsync(dst, f32([3, 1])), /addInPlace: src must have dst's shape \[3\], got \[3, 1\]/);
  t.same(Array.from(dst.toArray() as Float32Array), [1, 2, 3], 'dst is untouched by refused calls');
});

const cuda = torl.backends().cuda;
t.test('devices must match', { skip: cuda.available ? false : `no GPU: ${cuda.reason ?? 'unavailable'}` }, async (t) => {
  t.throws(() => ops.add(f32([2]), torl.zeros([2], { device: 'cuda' })), /add: a is on cpu but b is on cuda:0/);
  t.throws(() => ops.addInPlace(torl.zeros([2], { device: 'cuda' }), f32([2])), /addInPlace: dst is on cuda:0 but src is on cpu/);
});
