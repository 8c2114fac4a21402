// torl.evaluate on the tiny model taught tool-integrated scripts by SFT (test/helpers/tool-model.ts),
// with the real Python sandbox: its verdicts equal re-grading its own dump with torl.reward, the
// figures are the dump's, a killed eval resumes from its dump to the same records, the no-tool
// protocol makes no call, k samples give pass@k with draws keyed by problem, and bad input is named.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

import { evalMetrics, evaluate, loadTokenizer, Model, readRecords, reward, type EvaluateOptions, type EvalRecord } from '../../lib/index.js';
import { trainerFixture } from '../helpers/trainer-fixture.js';

const fx = await trainerFixture();
const tmp = mkdtempSync(join(tmpdir(), 'torl-eval-'));
const base: EvaluateOptions = { model: fx.modelDir, data: [fx.dataFile], template: 'raw', maxResponseTokens: 64, engine: { kvCacheTokens: 4096 }, sandbox: { workers: 1 }, progress: false };
const byKey = (rs: readonly EvalRecord[]) => [...rs].sort((a, b) => (a.key + a.sample < b.key + b.sample ? -1 : 1));

t.teardown(() => reward.shutdownGrader());

t.test('greedy with tools: verdicts = re-grading the dump with torl.reward; figures = the dump', async (t) => {
  const out = join(tmp, 'run');
  const r = await evaluate({ ...base, maxToolCalls: 2, out });
  t.equal(r.records.length, 6, 'six problems, one sample each');
  t.same(Object.keys(r.metrics.benchmarks), ['even', 'odd'], 'grouped by data_source');
  t.same(r.protocol, { ...r.protocol, template: 'raw', maxToolCalls: 2, temperature: 0, maxResponseTokens: 64, observationMaxChars: 256, reward: 'torl' });
  t.ok(r.records.some((x) => x.toolCalls.length === 2 && x.toolCalls[0]!.status === 'error' && x.toolCalls[1]!.status === 'ok'), 'the two-call script ran both calls (first one a ZeroDivisionError)');
  t.ok(r.records.some((x) => x.toolCalls.length === 1 && x.toolCalls[0]!.observation === '\n5\n```\n'), "the one-call script's observation");
  // The SFT scripts: two of the three box 5 (the gold), one never answers.
  t.equal(r.metrics.benchmarks.even!.accuracy, 2 / 3);
  t.equal(r.metrics.benchmarks.odd!.accuracy, 2 / 3);
  t.equal(r.metrics.average.accuracy, 2 / 3);
  t.equal(r.metrics.benchmarks.even!.toolErrorRate, 1 / 3, 'one failed call of three');

  const dump = await readRecords(join(out, 'samples.jsonl'));
  t.same(byKey(dump), byKey(r.records), 'the dump holds every record');
  for (const d of dump) {
    const g = await reward.torlReward(d.response, d.gold);
    t.same([d.correct, d.answer, d.reason, d.reward], [g.reason.startsWith('match:'), g.answer, g.reason, g.reward], `${d.key}: the dump's verdict is torlReward's`);
  }
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { benchmarks: unknown; average: unknown; protocol: unknown };
  const again = evalMetrics(dump, ['even', 'odd']);
  t.same(results.benchmarks, again.benchmarks, 'results.json per benchmark = the figures of the dump');
  t.same(results.average, again.average);
  t.same(results.protocol, r.protocol);
  t.match(r.table, /model \(torl\)\s+66\.7\s+66\.7\s+66\.7/, 'the table: this run in %');
  t.ok(r.throughput.sampledTokens > 0 && r.throughput.tokensPerS > 0);

  t.test('a killed eval resumes from its dump to the same records', async (t) => {
    const out2 = join(tmp, 'killed');
    await evaluate({ ...base, maxToolCalls: 2, out: out2, limit: 1 }); // writes config.json (the limit is not part of the protocol)
    const lines = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n');
    copyFileSync(join(out2, 'config.json'), join(tmp, 'config.json'));
    writeFileSync(join(out2, 'samples.jsonl'), `${lines.slice(0, 2).join('\n')}\n${lines[2]!.slice(0, 50)}`); // two problems, then a torn line
    const logs: string[] = [];
    const r2 = await evaluate({ ...base, maxToolCalls: 2, out: out2, log: (l) => logs.push(l) });
    t.equal(r2.resumedProblems, 2);
    t.equal(r2.generatedProblems, 4);
    t.match(logs.join('\n'), /resuming from .*samples\.jsonl: 2 of 6 problems already graded/);
    t.same(byKey(r2.records), byKey(r.records), 'the same records as the uninterrupted run');
    t.same(byKey(await readRecords(join(out2, 'samples.jsonl'))), byKey(r.records), 'the dump is whole again, the torn line gone');
    const r3 = await evaluate({ ...base, maxToolCalls: 2, out: out2 });
    t.same([r3.resumedProblems, r3.generatedProblems], [6, 0], 'a finished eval reruns from its dump alone');
    t.same(r3.metrics, r.metrics);
    await t.rejects(evaluate({ ...base, maxToolCalls: 1, out: out2 }), /holds an eval with another protocol \(maxToolCalls: 2 there, 1 now\); choose another folder or delete it/);
  });

  t.test('a loaded Model and Tokenizer give the same records', async (t) => {
    const model = await Model.load(fx.modelDir);
    const r4 = await evaluate({ ...base, maxToolCalls: 2, model, tokenizer: await loadTokenizer(fx.modelDir) });
    t.same(r4.records, r.records);
    t.equal(r4.outDir, null);
  });
});

t.test('no-tool protocol: no call, the model writes its output fence itself', async (t) => {
  const r = await evaluate({ ...base, tools: false, maxToolCalls: 3 });
  t.equal(r.protocol.maxToolCalls, 0);
  t.ok(r.records.every((x) => x.toolCalls.length === 0 && x.toolErrors === 0));
  t.ok(r.records.some((x) => x.response.includes('```output')), 'a script that would call the tool writes the fence on');
  t.equal(r.metrics.benchmarks.even!.toolCallRate, 0);
});

t.test('k samples: pass@k, draws keyed by (seed, problem)', async (t) => {
  const r = await evaluate({ ...base, samples: 3, temperature: 1, seed: 7 });
  t.equal(r.records.length, 18);
  t.same(Object.keys(r.metrics.benchmarks.odd!.passAtK), ['1', '2', '3']);
  for (const b of Object.values(r.metrics.benchmarks)) t.ok(b.passAtK[3]! >= b.passAtK[1]!, 'pass@3 ≥ pass@1');
  const one = await evaluate({ ...base, samples: 3, temperature: 1, seed: 7, limit: 1 });
  t.same(one.records.map((x) => x.response), r.records.filter((x) => x.key === one.records[0]!.key).map((x) => x.response), 'a problem gets the same samples whatever else runs');
});

t.test('bad input: clear errors', async (t) => {
  await t.rejects(evaluate({ model: '/nonexistent/model' }), /model: '\/nonexistent\/model' is not a directory with config\.json/);
  await t.rejects(evaluate({ ...base, benchmarks: ['aime24', 'aime26'] }), /unknown benchmark 'aime26' \(known: aime24, aime25, math500, olympiadbench, amc23/);
  const noAnswer = join(tmp, 'no-answer.jsonl');
  writeFileSync(noAnswer, `${JSON.stringify({ problem: 'What is 2+3?', solution: 'It is 5.' })}\n`);
  await t.rejects(evaluate({ ...base, data: [noAnswer] }), /data: .*no-answer\.jsonl: row 0: no answer \(looked at "answer", "reward_model\.ground_truth"/);
  await t.rejects(evaluate({ ...base, data: [join(tmp, 'missing.jsonl')] }), /data: .*missing\.jsonl: no such file or directory/);
  await t.rejects(evaluate({ ...base, samples: 2 }), /2 samples per problem need temperature > 0/);
  await t.rejects(evaluate({ ...base, model: await Model.load(fx.modelDir) }), /a loaded Model needs options\.tokenizer/);
  await t.rejects(evaluate({ ...base, tokenizer: tmp }), /tokenizer: '.*' has no tokenizer\.json/);
  await t.rejects(evaluate({ ...base, data: [] , benchmarks: [] }), /nothing to evaluate/);
});
