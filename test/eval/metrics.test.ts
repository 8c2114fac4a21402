// Eval figures: pass@k against counting every k-subset, per-benchmark figures of hand-made
// records, the unweighted mean, the paper-style table, and the dump's resume rules.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

import { BENCHMARKS, benchmarkFile, completeProblems, evalMetrics, formatDetails, formatTable, passAtK, readRecords, type EvalRecord } from '../../lib/index.js';

/** pass@k by enumeration: the share of k-subsets of n samples (c correct) holding a correct one. */
function bruteForce(n: number, c: number, k: number): number {
  let hit = 0, all = 0;
  const walk = (start: number, left: number, any: boolean) => {
    if (left === 0) {
      all++;
      if (any) hit++;
      return;
    }
    for (let i = start; i <= n - left; i++) walk(i + 1, left - 1, any || i < c);
  };
  walk(0, k, false);
  return hit / all;
}

t.test('passAtK = the share of k-subsets with a correct sample', (t) => {
  for (let n = 1; n <= 8; n++) for (let c = 0; c <= n; c++) for (let k = 1; k <= n; k++) {
    const got = passAtK(n, c, k), want = bruteForce(n, c, k);
    if (Math.abs(got - want) > 1e-12) t.fail(`n=${n} c=${c} k=${k}: ${got} vs ${want}`);
  }
  t.equal(passAtK(16, 1, 1), 1 / 16);
  t.equal(passAtK(4, 0, 4), 0);
  t.throws(() => passAtK(4, 5, 1), /0 ≤ c ≤ n/);
  t.throws(() => passAtK(4, 1, 5), /1 ≤ k ≤ n/);
  t.end();
});

const rec = (benchmark: string, problem: number, sample: number, correct: boolean, extra: Partial<EvalRecord> = {}): EvalRecord => ({
  key: `${benchmark}:${problem}`, benchmark, id: `${benchmark}-${problem}`, sample, prompt: 'p', response: correct ? '\\boxed{1}' : '\\boxed{2}', answer: correct ? '1' : '2', gold: '1',
  correct, reason: correct ? 'match:number' : 'mismatch', reward: correct ? 1 : -1, responseTokens: 10, finishReason: 'stop', toolCalls: [], toolErrors: 0, ...extra,
});

t.test('figures of hand-made records', (t) => {
  const call = (status: 'ok' | 'error') => ({ code: 'print(1)', status, observation: '1' });
  const records = [
    // a: problem 0 two of two right, problem 1 none of two; one tool call ok, one failed, one response cut
    rec('a', 0, 0, true, { responseTokens: 20, toolCalls: [call('ok')] }),
    rec('a', 0, 1, true, { responseTokens: 30 }),
    rec('a', 1, 0, false, { responseTokens: 40, toolCalls: [call('error')], toolErrors: 1, finishReason: 'length' }),
    rec('a', 1, 1, false, { responseTokens: 50, answer: null, reason: 'no-answer' }),
    // b: one problem, one of two right
    rec('b', 0, 0, true),
    rec('b', 0, 1, false),
  ];
  const m = evalMetrics(records, ['b', 'a']);
  t.same(Object.keys(m.benchmarks), ['b', 'a'], 'in the order asked');
  const a = m.benchmarks.a!;
  t.equal(a.problems, 2);
  t.equal(a.samples, 4);
  t.equal(a.accuracy, 0.5);
  t.same(a.passAtK, { 1: 0.5, 2: 0.5 });
  t.equal(a.responseLength, 35);
  t.equal(a.responseLengthCorrect, 25);
  t.equal(a.toolCallRate, 0.5);
  t.equal(a.toolErrorRate, 0.5);
  t.equal(a.toolCallsPerResponse, 0.5);
  t.equal(a.noAnswerRate, 0.25);
  t.equal(a.truncatedRate, 0.25);
  t.same(m.benchmarks.b!.passAtK, { 1: 0.5, 2: 1 });
  t.equal(m.average.accuracy, 0.5, 'unweighted mean of 0.5 and 0.5');
  t.same(m.average.passAtK, { 1: 0.5, 2: 0.75 });
  t.throws(() => evalMetrics([rec('c', 0, 0, true), rec('c', 0, 1, true), rec('c', 1, 0, true)]), /different sample counts/);
  t.end();
});

t.test('the paper-style table and the details', (t) => {
  const m = evalMetrics([rec('aime24', 0, 0, true), rec('aime24', 1, 0, false), rec('amc23', 0, 0, true)], ['aime24', 'amc23']);
  const table = formatTable(m, 'mine');
  const lines = table.split('\n');
  t.match(lines[0]!, /^\s+AIME24\s+AMC23\s+Avg$/);
  t.match(lines[1]!, /^ToRL-1\.5B \(paper\)\s+26\.7\s+67\.5\s+48\.5$/, "the paper's ToRL-1.5B row");
  t.match(lines[2]!, /^ToRL-7B \(paper\)\s+43\.3\s+75\.0\s+62\.1$/);
  t.match(lines[3]!, /^mine\s+50\.0\s+100\.0\s+75\.0$/, 'this run in %, average unweighted');
  t.notMatch(formatTable(m, 'mine', false), /paper/);
  const details = formatDetails(m).split('\n');
  t.match(details[1]!, /^aime24\s+2\s+2\s+50\.0\s+10\s+10\s+0\.0\s+0\.0\s+0\.0\s+0\.0$/);
  t.end();
});

t.test('the shipped benchmarks', async (t) => {
  const rows: Record<string, number> = { aime24: 30, aime25: 30, math500: 500, olympiadbench: 675, amc23: 40, math500_level5: 134 };
  t.same([...BENCHMARKS].sort(), Object.keys(rows).sort());
  const { readFile } = await import('node:fs/promises');
  for (const name of BENCHMARKS) {
    const lines = (await readFile(benchmarkFile(name), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { data_source: string; problem: string; answer: string });
    t.equal(lines.length, rows[name], `${name}: ${rows[name]} problems`);
    t.ok(lines.every((l) => l.data_source === name && l.problem.length > 0 && typeof l.answer === 'string' && l.answer.length > 0), `${name}: every row has its name, a problem and an answer`);
  }
  t.throws(() => benchmarkFile('aime26'), /unknown benchmark 'aime26' \(known: aime24, aime25, math500, olympiadbench, amc23, math500_level5/);
});

t.test('the dump: a torn last line is dropped, complete problems kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'torl-dump-'));
  const file = join(dir, 'samples.jsonl');
  const rs = [rec('a', 0, 0, true), rec('a', 0, 1, false), rec('a', 1, 0, true)];
  writeFileSync(file, `${rs.map((r) => JSON.stringify(r)).join('\n')}\n${JSON.stringify(rec('a', 1, 1, true)).slice(0, 40)}`);
  const back = await readRecords(file);
  t.same(back, rs, 'the torn line is gone');
  const done = completeProblems(back, 2);
  t.same([...done.keys()], ['a:0'], 'problem a:1 lacks sample 1');
  t.same([...completeProblems(back, 1).keys()], ['a:0', 'a:1'], 'with k = 1 both are complete');
  writeFileSync(file, `${JSON.stringify(rs[0])}\nnot json\n${JSON.stringify(rs[1])}\n`);
  await t.rejects(readRecords(file), /samples\.jsonl:2: not a JSON line/);
  writeFileSync(file, `${JSON.stringify({ hello: 1 })}\n`);
  await t.rejects(readRecords(file), /samples\.jsonl:1: not an eval record/);
  t.same(await readRecords(join(dir, 'missing.jsonl')), []);
});
