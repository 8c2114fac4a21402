// The LM-head cases' tolerances are tight enough to catch the defects they exist for:
// each case's real CPU outputs, with one defect applied, must fail the case's checks.
import t from 'tap';
import { lmHeadCases, VOCAB_CHUNK } from './cases/lm_head.js';
import { firstFailure, type Check } from './table.js';

const withGot = (c: Check, f: (got: Float64Array) => void): Check => {
  const got = Float64Array.from(c.got);
  f(got);
  return { ...c, got };
};

t.test('a 2% error in the vocabulary rows past the first chunk fails dweight', async (t) => {
  let n = 0;
  for (const c of lmHeadCases) {
    const checks = await c.run('cpu');
    t.equal(firstFailure(checks), null, `${c.name}: passes as computed`);
    const dw = checks.dweight;
    if (!dw) continue;
    const V = Number(/V=(\d+)/.exec(c.name)![1]);
    if (V <= VOCAB_CHUNK) continue;
    const rowLen = dw.got.length / V;
    t.equal(rowLen % 1, 0, `${c.name}: dweight is [V, D]`);
    const bad = { ...checks, dweight: withGot(dw, (g) => { for (let i = VOCAB_CHUNK * rowLen; i < g.length; i++) g[i] = g[i]! * 1.02; }) };
    t.match(firstFailure(bad), /^dweight: index (\d+)/, `${c.name}: caught`);
    n++;
  }
  t.ok(n >= 5, `${n} cases past the chunk`);
});

t.test("an entropy of 0 in any one row fails, the peaked case's near-0 rows included", async (t) => {
  for (const c of lmHeadCases) {
    if (c.op !== 'lmHeadLogprob') continue;
    const checks = await c.run('cpu');
    const rows = checks.entropy!.got.length;
    let caught = 0;
    for (let r = 0; r < rows; r++) {
      const bad = { ...checks, entropy: withGot(checks.entropy!, (g) => { g[r] = 0; }) };
      if (/^entropy: /.test(firstFailure(bad) ?? '')) caught++;
    }
    t.equal(caught, rows, `${c.name}: ${caught} of ${rows} rows caught`);
  }
});
