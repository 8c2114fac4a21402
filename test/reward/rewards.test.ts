import t from 'tap';
import {
  configureGrader,
  makeReward,
  rewardFunctions,
  torlReward,
  wformatReward,
  type RewardFunction,
} from '../../lib/reward/index.js';

const right = 'So $x = \\boxed{\\dfrac{3}{4}}$.';
const wrong = 'So $x = \\boxed{\\dfrac{4}{3}}$.';
const none = 'So x is three quarters.';
const gold = '0.75';

t.test('ToRL default: +1 / -1', async (t) => {
  t.same(await torlReward(right, gold), { reward: 1, reason: 'match:number', answer: '\\dfrac{3}{4}', penalty: 0 });
  t.same(await torlReward(wrong, gold), { reward: -1, reason: 'mismatch', answer: '\\dfrac{4}{3}', penalty: 0 });
  t.same(await torlReward(none, gold), { reward: -1, reason: 'no-answer', answer: null, penalty: 0 });
  t.equal(rewardFunctions.torl, torlReward);
});

t.test('v2.wformat: -0.5 for a wrong boxed answer, -1 for none', async (t) => {
  t.equal((await wformatReward(right, gold)).reward, 1);
  t.equal((await wformatReward(wrong, gold)).reward, -0.5);
  t.equal((await wformatReward(none, gold)).reward, -1);
  t.equal(rewardFunctions['v2.wformat'], wformatReward);
});

t.test('code-execution penalty', async (t) => {
  const failing = '```python\nprint(1/0)\n```\n```output\nTraceback (most recent call last):\n  File "<stdin>", line 1\nZeroDivisionError: division by zero\n```\n' + right;
  const clean = '```python\nprint(3/4)\n```\n```output\n0.75\n```\n' + right;
  t.same(await torlReward(failing, gold, { codePenalty: 0.5 }), { reward: 0.5, reason: 'match:number', answer: '\\dfrac{3}{4}', penalty: 0.5 });
  t.equal((await torlReward(clean, gold, { codePenalty: 0.5 })).reward, 1);
  t.equal((await torlReward(failing, gold)).reward, 1, 'no penalty unless asked');
  t.equal((await torlReward(failing, gold, { codePenalty: 0.5, toolErrors: 0 })).reward, 1, 'the rollout count wins');
  t.equal((await torlReward(clean, gold, { codePenalty: 0.5, toolErrors: 2 })).reward, 0.5, 'once, however many failed');
  t.equal((await wformatReward(failing.replace(right, wrong), gold, { codePenalty: 0.25 })).reward, -0.75);
  t.equal((await torlReward('```output\nNameError: name x is not defined\n```\n' + none, gold, { codePenalty: 1 })).reward, -2);
});

t.test('user-defined rewards share the signature', async (t) => {
  const strict = makeReward({ correct: 2, wrong: 0, noAnswer: -3 });
  t.same([(await strict(right, gold)).reward, (await strict(wrong, gold)).reward, (await strict(none, gold)).reward], [2, 0, -3]);
  t.throws(() => makeReward({ correct: 1, wrong: Number.NaN, noAnswer: -1 }), /score wrong must be a finite number/);
  // A user function built on a built-in one.
  const halved: RewardFunction = async (response, g, options) => {
    const r = await torlReward(response, g, options);
    return { ...r, reward: r.reward / 2 };
  };
  t.equal((await halved(wrong, gold)).reward, -0.5);
});

t.test('options reach extraction and equivalence', async (t) => {
  const plain = 'After simplifying, the answer is 50%.';
  t.equal((await torlReward(plain, '0.5')).reason, 'no-answer');
  t.equal((await torlReward(plain, '50', { extract: { fallbacks: ['answer-is'] } })).reason, 'match:percent');
  t.equal((await torlReward(plain, '0.5', { extract: { fallbacks: ['answer-is'] } })).reason, 'match:percent');
  const r = await torlReward(plain, '0.5', { extract: { fallbacks: ['answer-is'] }, equivalence: { percentAsFraction: false } });
  t.equal(r.reason, 'mismatch');
  t.equal((await torlReward('\\boxed{\\sqrt{2}}', '1.4142', { equivalence: { relTol: 1e-4 } })).reward, 1);
  t.equal((await torlReward('\\boxed{\\sqrt{2}}', '1.4142')).reward, -1);
  // symbolic: false turns the compute-engine off; our exact radical arithmetic still decides.
  t.equal((await torlReward('\\boxed{\\sin\\frac{\\pi}{6}}', '\\frac12', { equivalence: { symbolic: false } })).reason, 'mismatch');
  t.equal((await torlReward('\\boxed{\\sin\\frac{\\pi}{6}}', '\\frac12')).reason, 'match:symbolic');
  t.equal((await torlReward('\\boxed{\\sqrt{8}}', '2\\sqrt{2}', { equivalence: { symbolic: false } })).reason, 'match:symbolic');
});

t.test('configureGrader checks its settings', async (t) => {
  t.throws(() => configureGrader({ workers: 0 }), new RangeError('configureGrader: workers must be a number ≥ 1, got 0'));
  t.throws(() => configureGrader({ startupTimeoutMs: Number.NaN }), new RangeError('configureGrader: startupTimeoutMs must be a number ≥ 1, got NaN'));
});

t.test('inputs are checked: a non-string response or gold is a TypeError naming the argument', async (t) => {
  const { extractAnswer, isEquivalent } = await import('../../lib/reward/index.js');
  const call = (f: RewardFunction, response: unknown, g: unknown, options?: unknown) => (f as (...a: unknown[]) => Promise<unknown>)(response, g, options);
  await t.rejects(call(torlReward, undefined, 5), new TypeError('torlReward: response must be a string, got undefined'));
  await t.rejects(call(torlReward, right, 5), new TypeError('torlReward: gold must be a string, got number 5'));
  await t.rejects(call(wformatReward, right, null), new TypeError('wformatReward: gold must be a string, got null'));
  await t.rejects(call(makeReward({ correct: 1, wrong: 0, noAnswer: 0 }, 'mine'), ['a'], gold), new TypeError('mine: response must be a string, got an array'));
  await t.rejects(call(torlReward, right, gold, { codePenalty: NaN }), new TypeError('torlReward: options.codePenalty must be a finite number ≥ 0, got null'));
  await t.rejects(call(torlReward, right, gold, { codePenalty: 0.5, toolErrors: '1' }), new TypeError('torlReward: options.toolErrors must be a finite number ≥ 0, got "1"'));
  t.throws(() => (extractAnswer as (x: unknown) => unknown)({ text: 'x' }), new TypeError('extractAnswer: text must be a string, got an object'));
  await t.rejects((isEquivalent as (a: unknown, b: unknown) => Promise<unknown>)('1', 1), new TypeError('isEquivalent: gold must be a string, got number 1'));
  // any string grades, the empty one included
  t.same(await torlReward('', gold), { reward: -1, reason: 'no-answer', answer: null, penalty: 0 });
  t.same(await torlReward(right, ''), { reward: -1, reason: 'mismatch', answer: '\\dfrac{3}{4}', penalty: 0 });
});
