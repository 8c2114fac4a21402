// The demo task: answers checked independently (BigInt arithmetic by other means: repeated
// multiplication for powers, digit-by-digit sums), the splits disjoint and seeded, the jsonl files
// loaded by loadDataset with the demo template, and the reward grading a boxed answer right.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset, reward } from '../../lib/index.js';
import { DEMO_TEMPLATE, demoPrompt } from '../../lib/demo/template.js';
import { demoSplits, problemSplit, writeDemoTask, type DemoProblem } from '../../lib/demo/task.js';

/** The answer recomputed from the problem text alone. */
function recompute(p: DemoProblem): string {
  let m: RegExpExecArray | null;
  if ((m = /^Compute (\d+)\*(\d+)\.$/.exec(p.problem))) {
    // schoolbook: sum of a · digit · 10^k
    const a = BigInt(m[1]!);
    return [...m[2]!].reverse().reduce((acc, d, k) => acc + a * BigInt(d) * 10n ** BigInt(k), 0n).toString();
  }
  if ((m = /^Compute (\d+)\^(\d+) mod (\d+)\.$/.exec(p.problem))) {
    const [a, e, mod] = [BigInt(m[1]!), Number(m[2]!), BigInt(m[3]!)];
    let r = 1n;
    for (let i = 0; i < e; i++) r = (r * a) % mod;
    return (r % mod).toString();
  }
  if ((m = /^Add up ([\d, ]+)\.$/.exec(p.problem))) return m[1]!.split(', ').reduce((s, x) => s + BigInt(x), 0n).toString();
  throw new Error(`unrecognised problem ${p.problem}`);
}

t.test('answers are right, by independent arithmetic', (t) => {
  const { train, test } = demoSplits({ seed: 3, train: 1500, test: 300 });
  let wrong = 0;
  for (const p of [...train, ...test]) if (recompute(p) !== p.answer) wrong++;
  t.equal(wrong, 0, 'every answer recomputed equal');
  t.end();
});

t.test('splits: disjoint, seeded, the stated mix of kinds and levels', (t) => {
  const a = demoSplits({ seed: 1, train: 2000, test: 400, easyShare: 0.2 });
  const trainSet = new Set(a.train.map((p) => p.problem));
  t.equal(trainSet.size, 2000, 'train problems are distinct');
  t.equal(new Set(a.test.map((p) => p.problem)).size, 400, 'test problems are distinct');
  t.equal(a.test.filter((p) => trainSet.has(p.problem)).length, 0, 'no test problem in train');
  t.ok(a.test.every((p) => problemSplit(p.problem) === 'test') && a.train.every((p) => problemSplit(p.problem) === 'train'), 'each on its side of problemSplit');
  t.same(demoSplits({ seed: 1, train: 2000, test: 400, easyShare: 0.2 }), a, 'same seed, same splits');
  t.notSame(demoSplits({ seed: 2, train: 50, test: 10 }).test, demoSplits({ seed: 1, train: 50, test: 10 }).test, 'another seed, other problems');
  const easy = a.test.filter((p) => p.level === 'easy').length / a.test.length;
  t.ok(easy > 0.12 && easy < 0.28, `easy share ≈ 0.2 (${easy})`);
  for (const k of ['mul', 'powmod', 'sum']) t.ok(a.test.filter((p) => p.kind === k).length > 80, `test has ${k} problems`);
  t.throws(() => demoSplits({ train: 0 }), /train must be a positive integer/);
  t.throws(() => demoSplits({ easyShare: 2 }), /easyShare must be in \[0, 1\]/);
  t.end();
});

t.test('jsonl files load with loadDataset and the demo template; the reward grades them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'torl-demo-task-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const paths = await writeDemoTask(dir, { seed: 4, train: 60, test: 20 });
  const train = await loadDataset(paths.train, { template: DEMO_TEMPLATE });
  const test = await loadDataset(paths.test, { template: DEMO_TEMPLATE });
  t.equal(train.size, 60);
  t.equal(test.size, 20);
  const { test: want } = demoSplits({ seed: 4, train: 60, test: 20 });
  const ex = test.examples[0]!;
  t.equal(ex.problem, want[0]!.problem);
  t.equal(ex.answer, want[0]!.answer);
  t.equal(ex.dataSource, want[0]!.kind, 'data_source is the kind');
  t.equal(ex.prompt, demoPrompt(ex.problem), 'the template applied');
  t.same(new Set(train.examples.map((e) => e.dataSource)), new Set(['mul', 'powmod', 'sum']));
  t.equal((await reward.torlReward(`so \\boxed{${ex.answer}}.`, ex.answer)).reward, 1, 'a right boxed answer earns +1');
  t.equal((await reward.torlReward(`so \\boxed{${ex.answer}1}.`, ex.answer)).reward, -1, 'a wrong one −1');
});
