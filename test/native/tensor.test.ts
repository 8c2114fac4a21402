// Tensors and backends: creation from every data kind, dtype conversion
// (bf16 / f16 rounding against hand-computed bit patterns), devices, and bad
// input that must throw a message naming the problem.
import t from 'tap';

import * as torl from '../../lib/index.js';

t.test('backends() reports the CPU SIMD level and the CUDA state with a reason', async (t) => {
  const b = torl.backends();
  t.ok(b.cpu.threads >= 1);
  t.match(b.cpu.simd, /^(avx512|avx2|scalar)$/);
  t.type(b.cuda.compiled, 'boolean');
  if (!b.cuda.available) t.match(b.cuda.reason, /\w+/, `cuda unavailable: ${b.cuda.reason}`);
  else t.ok(b.cuda.devices.length > 0);
});

t.test('creation, dtypes and round trips', async (t) => {
  const a = torl.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  t.same(a.shape, [2, 3]);
  t.equal(a.dtype, 'f32');
  t.equal(a.device, 'cpu');
  t.equal(a.byteLength, 24);
  t.same(Array.from(a.toArray() as Float32Array), [1, 2, 3, 4, 5, 6]);

  // bf16: 1 + 2^-8 is a tie between 1 and 1 + 2^-7 → rounds to even (1); 1 + 3·2^-9 rounds up.
  const h = torl.tensor(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -9, -2.5, 65504]), [4], { dtype: 'bf16' });
  t.same(Array.from(h.toArray() as Float32Array), [1, 1 + 2 ** -7, -2.5, 65536]);
  t.same(Array.from(new Uint16Array(h.toBytes().buffer)), [0x3f80, 0x3f81, 0xc020, 0x4780]);
  // f16: exact bit patterns (1.0 = 0x3c00, -2 = 0xc000, 65504 = 0x7bff, 2^-24 = 0x0001 subnormal, 1e6 → inf)
  const f = torl.tensor([1, -2, 65504, 2 ** -24, 1e6], [5], { dtype: 'f16' });
  t.same(Array.from(new Uint16Array(f.toBytes().buffer)), [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]);
  t.same(Array.from(f.toArray() as Float32Array), [1, -2, 65504, 2 ** -24, Infinity]);

  const i = torl.tensor(new Int32Array([-3, 7]), [2]);
  t.equal(i.dtype, 'i32');
  t.same(Array.from(i.toArray() as Int32Array), [-3, 7]);
  const l = torl.tensor(new BigInt64Array([-(2n ** 40n), 5n]), [2]);
  t.equal(l.dtype, 'i64');
  t.same(Array.from(l.toArray() as BigInt64Array), [-(2n ** 40n), 5n]);
  const u = torl.tensor(new Uint8Array([0, 255]), [2]);
  t.equal(u.dtype, 'u8');
  const bits = torl.tensor(new Uint16Array([0x3f80, 0x4000]), [2], { dtype: 'bf16' });
  t.same(Array.from(bits.toArray() as Float32Array), [1, 2]);
  const raw = torl.fromBytes(new Uint8Array(new Float32Array([1.5, -2]).buffer), [2], 'f32');
  t.same(Array.from(raw.toArray() as Float32Array), [1.5, -2]);

  const z = torl.zeros([3, 0, 2]);
  t.same(z.shape, [3, 0, 2]);
  t.equal(z.toArray().length, 0);
  t.same(Array.from(torl.zeros([4], { dtype: 'i32' }).toArray() as Int32Array), [0, 0, 0, 0]);
  t.same(torl.empty([2, 5], { dtype: 'bf16' }).byteLength, 20);
  t.same(Array.from(a.to('cpu').toArray() as Float32Array), [1, 2, 3, 4, 5, 6], 'to(cpu) copies');
  t.ok(a instanceof torl.Tensor);
});

t.test('dispose', async (t) => {
  const a = torl.tensor([1, 2], [2]);
  a.dispose();
  t.equal(a.disposed, true);
  t.throws(() => a.shape, /disposed/);
  t.throws(() => a.toArray(), /Tensor.toArray: the tensor has been disposed/);
  t.doesNotThrow(() => a.dispose(), 'dispose twice is harmless');
});

t.test('bad input throws an error naming the problem', async (t) => {
  t.throws(() => torl.tensor([1, 2, 3], [2, 2]), /data has 3 elements but shape \[2, 2\] needs 4/);
  t.throws(() => torl.zeros([Number.NaN]), /shape\[0\] must be a non-negative integer, got NaN/);
  t.throws(() => torl.zeros([2, -1]), /shape\[1\] must be a non-negative integer, got -1/);
  t.throws(() => torl.zeros([1.5]), /shape\[0\] must be a non-negative integer, got 1.5/);
  t.throws(() => torl.zeros([Infinity]), /shape\[0\] must be a non-negative integer, got Infinity/);
  t.throws(() => torl.zeros([2 ** 30, 2 ** 30]), /more than 2\^47 elements/);
  t.throws(() => torl.zeros([2], { dtype: 'f64' as torl.DType }), /unknown dtype 'f64'/);
  t.throws(() => torl.zeros([2], { device: 'tpu' }), /unknown device 'tpu'/);
  t.throws(() => torl.tensor([1.5], [1], { dtype: 'i32' }), /data\[0\] = 1.5 cannot be stored exactly as i32/);
  t.throws(() => torl.tensor([256], [1], { dtype: 'u8' }), /cannot be stored exactly as u8/);
  t.throws(() => torl.tensor(new Float32Array(2), [2], { dtype: 'bf16', copy: false }), /cannot borrow/);
  t.throws(() => torl.tensor(new Uint16Array(2), [2]), /Uint16Array holds bf16 or f16 bits/);
  t.throws(() => torl.fromBytes(new Uint8Array(7), [2], 'f32'), /7 bytes given but shape \[2\] of f32 needs 8/);
  if (!torl.backends().cuda.available) {
    // The message names the request and why it cannot be met: no device, or a build without CUDA.
    t.throws(() => torl.zeros([2], { device: 'cuda' }), /^cannot allocate a tensor(?: on cuda:0: CUDA is unavailable \(.+\)|: this build of torl has no CUDA support)/, 'GPU tensor without a GPU');
  }

  const x = torl.tensor(new Float32Array(6), [2, 3]);
  const w = torl.tensor(new Float32Array(8), [2, 4]);
  t.throws(() => torl.ops.linear(x, w), /linear: x is \[2, 3\] and w is \[2, 4\]: their last dimensions \(K\) must match/);
  t.throws(() => torl.ops.linear(x, torl.tensor(new Float32Array(3), [3])), /linear: w must be 2-D \[M, K\], got shape \[3\]/);
  t.throws(() => torl.ops.linear(x, torl.tensor(new Int32Array(6), [2, 3])), /linear: w must be f32 or bf16, got i32/);
  t.throws(() => torl.ops.linear(x, x, torl.tensor(new Float32Array(3), [3])), /linear: bias must be \[2\] \(M\), got \[3\]/);
  t.throws(() => torl.ops.linear(x, {} as torl.Tensor), /linear: w must be a Tensor/);
  t.throws(() => (torl.ops.linear as (...a: unknown[]) => unknown)(x), /linear: missing argument w/);
  t.throws(() => torl.ops.linearBackward(torl.tensor(new Float32Array(6), [3, 2]), x, x), /linearBackward: dy must be \[2, 2\] \(\[N, M\]\), got \[3, 2\]/);
  t.throws(() => torl.ops.linearBackward(x, x, x, { bias: 1 as unknown as boolean }), /option bias must be a boolean/);
});
