// GPU edge cases found by reading the CUDA backend, each checked against an independent
// float64 reference or an exact error message. They need a GPU (npm run check:gpu runs
// them there) and skip here with the reason. Our own GEMM kernels are forced
// (TORL_CUDA_GEMM=own, read once at the first GEMM), so cuBLASLt cannot hide them.
process.env.TORL_CUDA_GEMM = 'own';

import t from 'tap';
import * as torl from '../../lib/index.js';
import { randn, rng, roundBf16 } from '../helpers/reference.js';

const cuda = torl.backends().cuda;
const gpu = cuda.available ? {} : { skip: `no GPU: ${cuda.reason ?? 'unavailable'}` };

t.test('attention validates a device cuSeqlens (a short one would leave tokens unwritten)', gpu, async (t) => {
  const q = torl.zeros([6, 2, 8], { dtype: 'bf16', device: 'cuda' });
  const k = torl.zeros([6, 1, 8], { dtype: 'bf16', device: 'cuda' });
  const cu = (a: number[]) => torl.tensor(Int32Array.from(a), [a.length], { dtype: 'i32', device: 'cuda' });
  t.throws(() => torl.ops.attention(q, k, k, cu([0, 2, 5])), /attention: cuSeqlens must end at T = 6 \(the tokens in q\), got cuSeqlens\[2\] = 5/);
  t.throws(() => torl.ops.attention(q, k, k, cu([0, 4, 2, 6])), /attention: cuSeqlens must be non-decreasing, got cuSeqlens\[2\] = 2 < cuSeqlens\[1\] = 4/);
  t.throws(() => torl.ops.attention(q, k, k, cu([1, 6])), /attention: cuSeqlens must start at 0, got cuSeqlens\[0\] = 1/);
});

// m past gridDim.y's 65535 row tiles: 128-row tiles for bf16 inputs, 64-row tiles for f32.
for (const [dtype, tile] of [['bf16', 128], ['f32', 64]] as const) {
  t.test(`linear with m past 65535 row tiles of ${tile} (${dtype})`, gpu, async (t) => {
    const [N, K, M] = [65535 * tile + 37, 8, 8];
    const rand = rng(N);
    const w = roundBf16(randn(M * K, rand));
    // Rows repeat with period 1021 (so the reference is cheap), bf16-exact values.
    const period = roundBf16(randn(1021 * K, rand));
    const x = new Float32Array(N * K);
    for (let i = 0; i < N; i++) x.set(period.subarray((i % 1021) * K, (i % 1021 + 1) * K), i * K);
    const y = torl.ops.linear(torl.tensor(x, [N, K], { dtype, device: 'cuda' }), torl.tensor(w, [M, K], { dtype, device: 'cuda' })).toArray() as Float32Array;
    let bad = 0, first = '';
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < M; j++) {
        let want = 0, mag = 0;
        for (let d = 0; d < K; d++) {
          want += x[i * K + d]! * w[j * K + d]!;
          mag += Math.abs(x[i * K + d]! * w[j * K + d]!);
        }
        // f32 accumulation (~K·2^-24) and, for a bf16 output, half an ulp (2^-9)
        const bound = (dtype === 'bf16' ? 2 ** -8 : 1e-6) * mag + 1e-6;
        if (!(Math.abs(y[i * M + j]! - want) <= bound) && bad++ === 0) first = `y[${i}, ${j}] = ${y[i * M + j]}, want ${want}`;
      }
    }
    t.equal(bad, 0, `${N} rows: ${first || 'all within bound'}`);
  });
}
