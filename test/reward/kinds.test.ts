import t from 'tap';
import { extractAnswer, isEquivalent, torlReward } from '../../lib/reward/index.js';
import { checkGraded } from './fixtures/grade-case.js';
import { KINDS, TOOL_RESPONSES } from './fixtures/kinds.js';

t.test('kind 1: tool-integrated responses (only the prose counts)', async (t) => {
  t.ok(TOOL_RESPONSES.some((c) => c.reward === 1) && TOOL_RESPONSES.some((c) => c.reward === -1), 'positives and negatives');
  for (const c of TOOL_RESPONSES) {
    t.equal(extractAnswer(c.response, c.options), c.answer, `${c.name}: extracted`);
    const r = await torlReward(c.response, c.gold, { extract: c.options });
    t.equal(r.reward, c.reward, `${c.name}: reward (${r.reason})`);
  }
});

for (const [kind, cases] of Object.entries(KINDS)) {
  t.test(`kind ${kind}`, async (t) => {
    t.ok(cases.some((c) => c.equal) && cases.some((c) => !c.equal), 'positives and hard negatives');
    for (const c of cases) {
      const label = await checkGraded(t, c, `After the tool call, the final answer is $\\boxed{${c.answer}}$.`);
      // Symmetric: the same verdict with the two sides swapped.
      const back = await isEquivalent(c.gold, c.answer, c.options);
      t.equal(back.equal, c.equal, `${label}: symmetric`);
    }
  });
}
