// Group advantages against a float64 reference: (r − mean) / (unbiased std + 1e-6), a group
// of one → r / (1 + eps), equal rewards → 0, Dr.GRPO → r − mean; bad shapes are refused.
import t from 'tap';

import { groupAdvantages } from '../../lib/index.js';

function reference(r: number[], g: number, byStd: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < r.length; i += g) {
    const x = r.slice(i, i + g);
    const mean = g === 1 ? 0 : x.reduce((a, v) => a + v, 0) / g;
    const std = g === 1 ? 1 : Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / (g - 1));
    out.push(...x.map((v) => (byStd ? (v - mean) / (std + 1e-6) : v - mean)));
  }
  return out;
}

t.test('GRPO and Dr.GRPO advantages = the float64 reference', (t) => {
  let seed = 3;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const g of [1, 2, 4, 16]) {
    const r = Array.from({ length: 3 * g }, () => (rand() < 0.5 ? 1 : rand() < 0.5 ? -1 : -0.5));
    for (const byStd of [true, false]) {
      const got = groupAdvantages(r, g, { normAdvByStd: byStd });
      const want = reference(r, g, byStd);
      t.ok(want.every((w, i) => Math.abs(got[i]! - w) <= 1e-6 * Math.max(1, Math.abs(w))), `group ${g}, ${byStd ? 'GRPO' : 'Dr.GRPO'}`);
    }
  }
  t.same([...groupAdvantages([1, 1, 1, 1, -1, -1], 2)], [0, 0, 0, 0, 0, 0], 'equal rewards in a group: 0');
  const a = groupAdvantages([1, -1, -1, -1], 4);
  t.ok(Math.abs(a[0]! - 1.5 / (1 + 1e-6)) < 1e-6 && Math.abs(a[1]! + 0.5 / (1 + 1e-6)) < 1e-6, 'one right of four: +1.5 and −0.5 (std 1)');
  t.throws(() => groupAdvantages([1, 2, 3], 2), /3 rewards do not split into groups of 2/);
  t.throws(() => groupAdvantages([1, NaN], 2), /reward 1 is NaN/);
  t.end();
});
