// sample: each row's token against the exact float64 distribution (temperature,
// top-k, top-p, min-p) walked with the same Philox uniform, and both returned
// log-probs. Rows mix greedy, temperatures 0.6 and 1 and every truncation.
// (The statistical checks are in sample-stats.test.ts.)
import * as torl from '../../../lib/index.js';
import { randn, rng, roundBf16 } from '../../helpers/reference.js';
import { philoxUniform, sampleDistRef, type SampleRefOptions } from '../../helpers/train-ref.js';
import { floatDType, type OpCase } from '../table.js';

interface Row extends SampleRefOptions {
  seed: number;
  offset: number;
}

const ROWS: Row[] = [
  { temperature: 0, topK: 0, topP: 1, minP: 0, seed: 1, offset: 0 },
  { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 2, offset: 5 },
  { temperature: 0.6, topK: 0, topP: 1, minP: 0, seed: 3, offset: 2 ** 40 },
  { temperature: 1, topK: 20, topP: 1, minP: 0, seed: 2 ** 52, offset: 7 },
  { temperature: 0.6, topK: 0, topP: 0.9, minP: 0, seed: 5, offset: 1 },
  { temperature: 1, topK: 50, topP: 0.8, minP: 0, seed: 6, offset: 9 },
  { temperature: 1, topK: 0, topP: 1, minP: 0.05, seed: 7, offset: 3 },
  { temperature: 0.6, topK: 30, topP: 0.95, minP: 0.1, seed: 8, offset: 4 },
  { temperature: 1, topK: 1, topP: 1, minP: 0, seed: 9, offset: 0 },
  { temperature: 2.5, topK: 0, topP: 0.5, minP: 0, seed: 10, offset: 11 },
];

/** The token an inverse-CDF walk picks for u: over the kept tokens, by (probability desc, id asc) when truncating, else by id. */
function walk(probs: Float64Array, sorted: boolean, u: number): number {
  const ids = Array.from(probs.keys()).filter((j) => probs[j]! > 0);
  if (sorted) ids.sort((a, b) => probs[b]! - probs[a]! || a - b);
  let acc = 0;
  for (const j of ids) if ((acc += probs[j]!) > u) return j;
  return ids[ids.length - 1]!;
}

function sampleCase(V: number, scale: number): OpCase {
  return {
    op: 'sample',
    name: `B=${ROWS.length} V=${V} logit scale ${scale}`,
    run(device) {
      const dtype = floatDType(device);
      const rand = rng(V * 3 + scale);
      let logits: Float32Array = randn(ROWS.length * V, rand).map((x) => x * scale);
      if (dtype === 'bf16') logits = roundBf16(logits);
      const pick = <K extends keyof Row>(k: K) => ROWS.map((r) => r[k]);
      const s = torl.ops.sample(torl.tensor(logits, [ROWS.length, V], { dtype, device }), {
        temperature: pick('temperature'),
        topK: pick('topK'),
        topP: pick('topP'),
        minP: pick('minP'),
        seed: pick('seed'),
        offset: pick('offset'),
      });
      const ids = s.ids.toArray() as Int32Array;
      const idOk: number[] = [], lp: number[] = [], tlp: number[] = [], wantLp: number[] = [], wantTlp: number[] = [];
      ROWS.forEach((r, b) => {
        const row = logits.subarray(b * V, (b + 1) * V);
        const id = ids[b]!;
        if (r.temperature === 0) {
          const { tempLogprob } = sampleDistRef(row, { ...r, temperature: 1 });
          const max = Math.max(...row);
          idOk.push(row[id] === max && row.indexOf(max) === id ? 1 : 0);
          wantLp.push(0);
          wantTlp.push(tempLogprob[id]!);
        } else {
          const { probs, tempLogprob } = sampleDistRef(row, r);
          const sorted = (r.topK > 0 && r.topK < V) || r.topP < 1;
          const u = philoxUniform(r.seed, r.offset);
          // a u within 1e-6 of a CDF boundary may fall either side in f32
          idOk.push(id === walk(probs, sorted, u - 1e-6) || id === walk(probs, sorted, u + 1e-6) ? 1 : 0);
          wantLp.push(Math.log(probs[id]!));
          wantTlp.push(tempLogprob[id]!);
        }
        lp.push((s.logprob.toArray() as Float32Array)[b]!);
        tlp.push((s.tempLogprob.toArray() as Float32Array)[b]!);
      });
      // one bound for both: the GPU's logprobs differ from the CPU's only by expf (≤ 2 ulp) against
      // the CPU's polynomial exp and by the order of its f64 sums, ~1e-7 of these values; a token
      // picked on the other side of a boundary is the ids check's business
      const tol = { rtol: 1e-5, atol: 1e-5 };
      return {
        ids: { got: idOk, want: ROWS.map(() => 1), tol: { rtol: 0, atol: 0 } },
        logprob: { got: lp, want: wantLp, tol },
        tempLogprob: { got: tlp, want: wantTlp, tol },
      };
    },
  };
}

export const sampleCases: OpCase[] = [sampleCase(1000, 3), sampleCase(4097, 6), sampleCase(64, 1)];
