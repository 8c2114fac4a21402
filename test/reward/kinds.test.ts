import t from 'tap';
import { extractAnswer, isEquivalent, torlReward } from '../../lib/reward/index.js';
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
      const label = `${JSON.stringify(c.answer)} vs ${JSON.stringify(c.gold)}`;
      const r = await torlReward(`After the tool call, the final answer is $\\boxed{${c.answer}}$.`, c.gold, { equivalence: c.options });
      t.equal(r.answer, c.answer, `${label}: extracted`);
      if (c.equal) {
        t.equal(r.reward, 1, `${label}: equal (${r.reason})`);
        if (c.rule) t.equal(r.reason, `match:${c.rule}`, `${label}: rule`);
      } else {
        t.same([r.reward, r.reason], [-1, 'mismatch'], `${label}: not equal`);
      }
      // Symmetric: the same verdict with the two sides swapped.
      const back = await isEquivalent(c.gold, c.answer, c.options);
      t.equal(back.equal, c.equal, `${label}: symmetric`);
    }
  });
}
