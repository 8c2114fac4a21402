import t from 'tap';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEquivalent, torlReward } from '../../lib/reward/index.js';

// Small budgets keep the suite short; what is checked is that every grade returns a
// well-formed result (no throw, no hang) and that the grader still works afterwards.
const quick = { equivalence: { timeoutMs: 300 } };

t.test('a comparison that runs long is abandoned and the worker replaced', async (t) => {
  // compute-engine evaluates (10^7)! for minutes: the worker is terminated at the budget.
  const r = await torlReward('\\boxed{(10^{7})!}', '\\sqrt{5}', quick);
  t.same([r.reward, r.reason], [-1, 'timeout']);
  // The replacement thread answers symbolic comparisons again.
  t.same(await isEquivalent('2\\sqrt{2}', '\\sqrt{8}'), { equal: true, rule: 'symbolic' });
  // A spent budget is not spent again: the second item of the tuple is not even tried.
  t.same(await isEquivalent('((10^{7})!, (10^{8})!)', '(\\sqrt{5}, \\sqrt{6})', { timeoutMs: 200 }), { equal: false, rule: 'timeout' });
});

t.test('1 MB responses and answers', async (t) => {
  const filler = 'Let me think. '.repeat(80_000);
  const r1 = await torlReward(`${filler}So the answer is $\\boxed{\\frac{3}{4}}$.`, '0.75', quick);
  t.same([r1.reward, r1.reason], [1, 'match:number']);
  const huge = '1+'.repeat(500_000) + '1';
  const r2 = await torlReward(`\\boxed{${huge}}`, '500001', quick);
  t.same([r2.reward, r2.reason], [-1, 'too-long']);
  t.same(await isEquivalent(huge, huge), { equal: true, rule: 'exact' });
});

t.test('10,000 nested braces and other pathological LaTeX', async (t) => {
  const answers = [
    '{'.repeat(10_000) + '1' + '}'.repeat(10_000),
    '\\frac{'.repeat(2_000) + '1' + '}{2}'.repeat(2_000),
    '\\sqrt{'.repeat(3_000) + '2' + '}'.repeat(3_000),
    '('.repeat(5_000) + '1' + ')'.repeat(5_000),
    '\\left('.repeat(1_500) + 'x',
    '\\begin{pmatrix}' + '1 & '.repeat(2_000) + '1\\end{pmatrix}',
    '\\{' + '1,'.repeat(4_000) + '1\\}',
    '\\pm'.repeat(3_000),
    '10^{10^{10^{10}}}',
    '\\frac{1}{0}',
    '\\text{' + 'a'.repeat(9_000),
    '}'.repeat(9_000),
    '\\\\'.repeat(4_000),
    '$'.repeat(9_000),
    Array.from({ length: 300 }, () => '3000!').join('+'),
    Array.from({ length: 200 }, () => '\\binom{99999}{2999}').join('\\cdot '),
    '(\\sqrt{2}+\\sqrt{3}+\\sqrt{5}+\\sqrt{7}+\\sqrt{11})^{64}',
    '\\sqrt{999999999989}\\cdot'.repeat(40) + '1',
    '2^{2^{2^{2^{2^{2}}}}}',
  ];
  for (const answer of answers) {
    const r = await torlReward(`\\boxed{${answer}}`, '\\sqrt{2}', quick);
    t.ok(r.reward === -1 && ['mismatch', 'timeout', 'too-long', 'no-answer'].includes(r.reason), `${answer.slice(0, 24)}…: ${r.reason}`);
  }
});

t.test('random token soup never throws', async (t) => {
  const tokens = ['\\frac', '{', '}', '(', ')', '[', ']', '\\{', '\\}', ',', '=', '\\pm', '\\sqrt', '^', '_', '1', '2', 'x', '\\pi', '\\cup', '\\\\', '&', '%', '\\text{', ' ', '.', '-', '\\infty', '\\begin{pmatrix}', '\\end{pmatrix}'];
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 80; k++) {
    const n = 1 + Math.floor(next() * 30);
    const s = Array.from({ length: n }, () => tokens[Math.floor(next() * tokens.length)]!).join('');
    const r = await isEquivalent(s, '\\frac{1}{2}', { timeoutMs: 2000 });
    if (!(typeof r.equal === 'boolean' && typeof r.rule === 'string')) t.fail(`bad result for ${JSON.stringify(s)}`);
  }
  t.pass('80 random answers graded');
});

t.test('answer text is never run as code', async (t) => {
  const marker = join(tmpdir(), `torl-reward-never-${process.pid}`);
  const payloads = [
    `require('fs').writeFileSync('${marker}', '1')`,
    `process.mainModule.require('fs').writeFileSync('${marker}', '1')`,
    `__import__('os').system('touch ${marker}')`,
    `\\operatorname{eval}(\\text{require('fs').writeFileSync('${marker}', '1')})`,
    `$(touch ${marker})`,
  ];
  for (const p of payloads) {
    const r = await isEquivalent(p, '1', { timeoutMs: 300 });
    t.equal(r.equal, false, p);
  }
  t.notOk(existsSync(marker), 'no payload ran');
});
