// Hand-written responses to real problems of each shipped benchmark, graded as the eval grades
// (torl.regrade → torl.reward.torlReward), give the expected per-benchmark accuracy: integer
// AIME / AMC answers (leading zeros, decimals, thousands separators), MATH LaTeX answers
// (tuples, \dfrac, \text), OlympiadBench multi-answers (unordered lists of tuples, intervals).
import t from 'tap';

import { benchmarkFile, loadDataset, regrade, reward, type EvalRecord } from '../../lib/index.js';

// benchmark → [problem id, response, correct?]
const RESPONSES: Record<string, [string, string, boolean][]> = {
  aime24: [
    ['aime24-60', 'The walk takes 204 minutes, so \\boxed{204}.', true],
    ['aime24-61', 'Compute:\n```python\nprint(113)\n```\n```output\n\\boxed{999}\n```\nThe tool printed it: \\boxed{113}.', true], // a \boxed in tool output does not count
    ['aime24-62', '\\boxed{317}', false],
    ['aime24-63', 'The answer is 385.', false], // no \boxed: no answer (no fallbacks, as ToRL)
  ],
  aime25: [
    ['563c1a97-edad-4a6d-be56-b631871775d4', 'AIME answers have three digits: \\boxed{070}', true],
    ['efbe618b-99cc-4fb7-8a31-10880f11159b', '\\boxed{588}', true],
    ['d979ca9c-3153-4fbd-9d59-3a214bbe833b', '\\boxed{16.0}', true],
    ['4005cc21-91b8-47e1-affc-a812f130442d', '\\boxed{118}', false],
  ],
  amc23: [
    ['amc23-0', '\\boxed{27}', true],
    ['amc23-1', '$x+y=\\boxed{36}$', true],
    ['amc23-3', '\\boxed{3,159}', true],
    ['amc23-4', '\\boxed{35}', false],
  ],
  math500: [
    ['test/precalculus/807.json', '\\boxed{(3, \\frac{\\pi}{2})}', true],
    ['test/intermediate_algebra/1994.json', '\\boxed{p-q}', true],
    ['test/algebra/2584.json', '\\boxed{\\dfrac{14}{3}}', true],
    ['test/algebra/1349.json', '\\boxed{Evelyn}', true],
    ['test/number_theory/572.json', '\\boxed{8}', false],
    ['test/prealgebra/1622.json', '\\boxed{42}', true],
  ],
  olympiadbench: [
    ['olympiadbench-1618', '\\boxed{(4,5,7), (1,8,19), (2,7,13)}', true], // multi-answer, any order
    ['olympiadbench-1664', '\\boxed{69, 84}', true], // gold "69$,$84"
    ['olympiadbench-1709', '\\boxed{5, 3, 1}', true],
    ['olympiadbench-1970', '\\boxed{(-\\infty,0)\\cup\\{1\\}}', true],
    ['olympiadbench-1610', '\\boxed{\\frac{1}{2n+2}}', true],
    ['olympiadbench-1606', '\\boxed{3}', false],
    ['olympiadbench-1737', '\\boxed{(6,3),(9,3)}', false], // half the answers
  ],
};

t.test('hand-written responses: the expected accuracy per benchmark', async (t) => {
  const records: EvalRecord[] = [];
  for (const [name, rows] of Object.entries(RESPONSES)) {
    const ds = await loadDataset(benchmarkFile(name));
    for (const [id, response] of rows) {
      const e = ds.examples.find((x) => x.id === id);
      if (!e) throw new Error(`${name}: no problem ${id}`);
      records.push({ key: `${name}:${e.source.row}`, benchmark: name, id, sample: 0, prompt: e.prompt, response, answer: null, gold: e.answer, correct: false, reason: 'no-answer', reward: -1, responseTokens: 0, finishReason: 'stop', toolCalls: [], toolErrors: 0 });
    }
  }
  const { records: graded, metrics } = await regrade(records);
  for (const [name, rows] of Object.entries(RESPONSES)) {
    const mine = graded.filter((r) => r.benchmark === name);
    rows.forEach(([id, , want], i) => t.equal(mine[i]!.correct, want, `${name} ${id}: ${want ? 'correct' : 'wrong'} (${mine[i]!.reason}, answer ${JSON.stringify(mine[i]!.answer)}, gold ${JSON.stringify(mine[i]!.gold)})`));
    t.equal(metrics.benchmarks[name]!.accuracy, rows.filter((r) => r[2]).length / rows.length, `${name}: accuracy ${rows.filter((r) => r[2]).length}/${rows.length}`);
  }
  t.equal(metrics.benchmarks.aime24!.noAnswerRate, 0.25, 'aime24: one response without \\boxed');
  t.equal(metrics.average.accuracy, (2 / 4 + 3 / 4 + 3 / 4 + 5 / 6 + 5 / 7) / 5, 'the unweighted mean over the five');
  // The verdicts are torlReward's, record by record.
  for (const r of graded) t.equal(r.correct, (await reward.torlReward(r.response, r.gold)).reason.startsWith('match:'));
  await reward.shutdownGrader();
});
