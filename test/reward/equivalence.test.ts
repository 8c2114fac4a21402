import t from 'tap';
import { isEquivalent, torlReward } from '../../lib/reward/index.js';
import { CASES } from './fixtures/cases.js';

t.test('the grading table', async (t) => {
  t.ok(CASES.length >= 150, `${CASES.length} cases`);
  for (const c of CASES) {
    const response = `We work it out step by step.\n\nThe final answer is $\\boxed{${c.answer}}$.`;
    const r = await torlReward(response, c.gold, { equivalence: c.options });
    const label = `${JSON.stringify(c.answer)} vs ${JSON.stringify(c.gold)}`;
    t.equal(r.answer, c.answer, `${label}: extracted`);
    if (c.equal) {
      t.equal(r.reward, 1, `${label}: equal (${r.reason})`);
      if (c.rule) t.equal(r.reason, `match:${c.rule}`, `${label}: rule`);
    } else {
      t.same([r.reward, r.reason], [-1, 'mismatch'], `${label}: not equal`);
    }
  }
});

t.test('equivalence is symmetric on the table', async (t) => {
  for (const c of CASES) {
    if (c.rule === 'choice') continue; // the gold decides that letters are choices: one-directional by design
    const r = await isEquivalent(c.gold, c.answer, c.options);
    t.equal(r.equal, c.equal, `${JSON.stringify(c.gold)} vs ${JSON.stringify(c.answer)}`);
  }
});
