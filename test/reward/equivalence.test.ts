import t from 'tap';
import { isEquivalent } from '../../lib/reward/index.js';
import { CASES } from './fixtures/cases.js';
import { checkGraded } from './fixtures/grade-case.js';

t.test('the grading table', async (t) => {
  t.ok(CASES.length >= 150, `${CASES.length} cases`);
  for (const c of CASES) await checkGraded(t, c, `We work it out step by step.\n\nThe final answer is $\\boxed{${c.answer}}$.`);
});

t.test('equivalence is symmetric on the table', async (t) => {
  for (const c of CASES) {
    if (c.rule === 'choice') continue; // the gold decides that letters are choices: one-directional by design
    const r = await isEquivalent(c.gold, c.answer, c.options);
    t.equal(r.equal, c.equal, `${JSON.stringify(c.gold)} vs ${JSON.stringify(c.answer)}`);
  }
});
