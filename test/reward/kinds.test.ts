import t from 'tap';
import { extractAnswer, torlReward } from '../../lib/reward/index.js';
import { TOOL_RESPONSES } from './fixtures/kinds.js';

t.test('kind 1: tool-integrated responses (only the prose counts)', async (t) => {
  t.ok(TOOL_RESPONSES.some((c) => c.reward === 1) && TOOL_RESPONSES.some((c) => c.reward === -1), 'positives and negatives');
  for (const c of TOOL_RESPONSES) {
    t.equal(extractAnswer(c.response, c.options), c.answer, `${c.name}: extracted`);
    const r = await torlReward(c.response, c.gold, { extract: c.options });
    t.equal(r.reward, c.reward, `${c.name}: reward (${r.reason})`);
  }
});
