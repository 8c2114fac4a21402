// sample, statistically: top-p 0.9 and top-k 20 draws (fixed seed, many rows)
// against the exact truncated distribution by chi-square; a row's draw does
// not depend on the rest of the batch; greedy picks the first maximum.
import t from 'tap';

import * as torl from '../../lib/index.js';
import { randn, rng, roundBf16 } from '../helpers/reference.js';
import { sampleDistRef, type SampleRefOptions } from '../helpers/train-ref.js';

/** The chi-square critical value at upper tail 1e-3 (Wilson–Hilferty). */
function chi2Critical(dof: number): number {
  const z = 3.09;
  return dof * (1 - 2 / (9 * dof) + z * Math.sqrt(2 / (9 * dof))) ** 3;
}

function chiSquareCase(name: string, o: SampleRefOptions) {
  t.test(name, (t) => {
    const V = 50, N = 20000;
    const logits = randn(V, rng(7)).map((x) => x * 3);
    const { probs } = sampleDistRef(logits, o);
    const batch = new Float32Array(N * V);
    for (let i = 0; i < N; i++) batch.set(logits, i * V);
    const s = torl.ops.sample(torl.tensor(batch, [N, V]), {
      ...o,
      seed: 1234,
      offset: Array.from({ length: N }, (_, i) => i),
    });
    const counts = new Float64Array(V);
    for (const id of s.ids.toArray() as Int32Array) counts[id] = counts[id]! + 1;
    let outside = 0, chi2 = 0, kept = 0;
    for (let j = 0; j < V; j++) {
      if (probs[j] === 0) {
        outside += counts[j]!;
        continue;
      }
      kept++;
      const e = probs[j]! * N;
      chi2 += (counts[j]! - e) ** 2 / e;
    }
    t.equal(outside, 0, 'no draw outside the truncated support');
    t.ok(kept > 2 && kept < V, `the truncation keeps ${kept} of ${V} tokens`);
    t.ok(chi2 < chi2Critical(kept - 1), `chi-square ${chi2.toFixed(1)} < ${chi2Critical(kept - 1).toFixed(1)} (${kept - 1} dof)`);
    t.end();
  });
}

chiSquareCase('top-p 0.9 at temperature 1', { temperature: 1, topK: 0, topP: 0.9, minP: 0 });
chiSquareCase('top-k 20 at temperature 0.6', { temperature: 0.6, topK: 20, topP: 1, minP: 0 });
chiSquareCase('min-p 0.05 at temperature 1', { temperature: 1, topK: 0, topP: 1, minP: 0.05 });

t.test('a row draws the same token alone, in a batch and in another position', (t) => {
  const B = 8, V = 300;
  const logits = randn(B * V, rng(3)).map((x) => x * 4);
  const opts = (rows: number[]) => ({
    temperature: rows.map((r) => [1, 0.6][r % 2]!),
    topP: rows.map((r) => [1, 0.9, 0.95, 1][r % 4]!),
    topK: rows.map((r) => [0, 0, 40, 10][r % 4]!),
    seed: rows.map((r) => 100 + r),
    offset: rows.map((r) => 17 * r),
  });
  const all = torl.ops.sample(torl.tensor(logits, [B, V]), opts([...Array(B).keys()]));
  const order = [5, 2, 7, 0, 3, 6, 1, 4];
  const permuted = new Float32Array(B * V);
  order.forEach((r, i) => permuted.set(logits.subarray(r * V, (r + 1) * V), i * V));
  const shuffled = torl.ops.sample(torl.tensor(permuted, [B, V]), opts(order));
  const ids = all.ids.toArray() as Int32Array, lp = all.logprob.toArray() as Float32Array, tlp = all.tempLogprob.toArray() as Float32Array;
  order.forEach((r, i) => {
    t.equal((shuffled.ids.toArray() as Int32Array)[i], ids[r], `row ${r}: same id when moved`);
    t.equal((shuffled.logprob.toArray() as Float32Array)[i], lp[r], `row ${r}: same logprob when moved`);
  });
  const alone = torl.ops.sample(torl.tensor(logits.subarray(3 * V, 4 * V), [1, V]), {
    temperature: 0.6, topP: 1, topK: 10, seed: 103, offset: 51,
  });
  t.equal((alone.ids.toArray() as Int32Array)[0], ids[3], 'row 3 alone: same id');
  t.equal((alone.tempLogprob.toArray() as Float32Array)[0], tlp[3], 'row 3 alone: same tempLogprob');
  const again = torl.ops.sample(torl.tensor(logits, [B, V]), opts([...Array(B).keys()]));
  t.same(Array.from(again.ids.toArray() as Int32Array), Array.from(ids), 'same seeds and offsets: same draws');
  t.end();
});

t.test('bf16 logits draw as their f32 values do', (t) => {
  const B = 6, V = 700;
  const logits = roundBf16(randn(B * V, rng(4)).map((x) => x * 5));
  const o = { temperature: 0.6, topP: 0.9, topK: [0, 50, 0, 50, 0, 50], seed: 42, offset: [0, 1, 2, 3, 4, 5] };
  const a = torl.ops.sample(torl.tensor(logits, [B, V]), o);
  const b = torl.ops.sample(torl.tensor(logits, [B, V], { dtype: 'bf16' }), o);
  t.same(Array.from(b.ids.toArray() as Int32Array), Array.from(a.ids.toArray() as Int32Array), 'ids');
  t.same(Array.from(b.tempLogprob.toArray() as Float32Array), Array.from(a.tempLogprob.toArray() as Float32Array), 'tempLogprob');
  t.end();
});

t.test('offsets advance the stream', (t) => {
  const V = 1000;
  const row = new Float32Array(V); // uniform: every id equally likely
  const N = 64;
  const batch = new Float32Array(N * V);
  for (let i = 0; i < N; i++) batch.set(row, i * V);
  const ids = torl.ops.sample(torl.tensor(batch, [N, V]), { seed: 5, offset: Array.from({ length: N }, (_, i) => i) }).ids.toArray() as Int32Array;
  t.ok(new Set(ids).size > N / 2, `${new Set(ids).size} distinct ids over ${N} offsets`);
  t.end();
});

t.test('greedy: temperature 0 takes the first maximum', (t) => {
  const logits = Float32Array.from([0.5, 2, -1, 2, 1.5, 0, 2, 1]);
  const s = torl.ops.sample(torl.tensor(logits, [2, 4]), { temperature: 0, topK: 3, topP: 0.5, seed: [1, 2] });
  t.same(Array.from(s.ids.toArray() as Int32Array), [1, 2], 'ids');
  t.same(Array.from(s.logprob.toArray() as Float32Array), [0, 0], 'logprob under the greedy (point-mass) distribution');
  const lse = Math.log(Math.exp(0.5) + Math.exp(2) + Math.exp(-1) + Math.exp(2));
  t.ok(Math.abs((s.tempLogprob.toArray() as Float32Array)[0]! - (2 - lse)) < 1e-6, 'tempLogprob at temperature 1');
  t.end();
});
