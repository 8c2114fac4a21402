import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadDataset, permutation, templates, getPath } from '../../lib/data/index.js';
import { loadTokenizer } from '../../lib/tokenizer/index.js';
import { qwenTokenizerDir } from '../tokenizer/fixture.js';

const repoRoot = resolve(import.meta.dirname, '../..');
const data = resolve(repoRoot, '../shared/data');
const tokP = loadTokenizer(qwenTokenizerDir());
const jsonl = (file: string): Record<string, unknown>[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

t.test('ToRL parquet (veRL layout): 374 rows, 30 AIME24 problems x 4, same as the jsonl export', async (t) => {
  const ds = await loadDataset(join(data, 'torl/test.parquet'));
  t.equal(ds.size, 374);
  const ref = jsonl(join(data, 'torl/test.jsonl'));
  ds.examples.forEach((ex, i) => {
    const r = ref[i] as { id: string; data_source: string; problem: string; answer: string; row: number };
    if (ex.id !== r.id || ex.problem !== r.problem || ex.answer !== r.answer || ex.dataSource !== r.data_source || ex.source.row !== r.row) {
      t.fail(`row ${i} differs from test.jsonl`);
    }
  });
  const aime = ds.examples.filter((e) => e.dataSource === 'aime24');
  t.equal(aime.length, 120);
  t.equal(new Set(aime.map((e) => e.id)).size, 30);
  for (let i = 0; i < 120; i += 4) t.equal(new Set(aime.slice(i, i + 4).map((e) => e.id)).size, 1, 'four consecutive copies');
  const bench = jsonl(join(data, 'benchmarks/aime24.jsonl')).map((r) => r.answer).sort();
  t.same([...new Set(aime.map((e) => e.problem))].length, 30);
  t.same([...new Set(aime.map((e) => e.answer))].sort(), [...new Set(bench)].sort());
  const first = ds.examples[0];
  t.ok(first?.problem.startsWith('Every morning Aya goes for a $9$-kilometer-long walk'), 'the user message, not the system message');
  t.equal(first?.answer, '204');
  t.equal(first?.prompt, templates.tirBase0309(first?.problem ?? ''));
});

t.test('jsonl and json arrays, default and configured columns, globs, directories', async (t) => {
  t.equal((await loadDataset(join(data, 'limr/math8k.jsonl'))).size, 8521);
  const aime = await loadDataset(join(data, 'deepscaler/test_aime.json'));
  t.equal(aime.size, 30);
  t.equal(aime.examples[0]?.dataSource, 'test_aime.json', 'no data_source column: the file name');
  t.equal(aime.examples[0]?.id, 'test_aime.json#0', 'no id column: file#row');
  const both = await loadDataset(join(data, 'benchmarks/aime2?.jsonl'));
  t.equal(both.size, 60);
  t.same([...new Set(both.examples.map((e) => e.dataSource))].sort(), ['aime24', 'aime25']);
  const oly = await loadDataset(join(data, 'qwen25-math-eval/olympiadbench.jsonl'), { columns: { problem: 'question', answer: 'final_answer[0]', id: 'id' } });
  t.equal(oly.size, 675);
  const raw = jsonl(join(data, 'qwen25-math-eval/olympiadbench.jsonl'))[0] as { question: string; final_answer: string[]; id: number };
  t.equal(oly.examples[0]?.answer, raw.final_answer[0]);
  t.equal(oly.examples[0]?.id, String(raw.id));
  const amc = await loadDataset(join(data, 'qwen25-math-eval/amc23.jsonl'));
  t.equal(amc.examples[0]?.answer, String((jsonl(join(data, 'qwen25-math-eval/amc23.jsonl'))[0] as { answer: number }).answer), 'numbers printed');
  t.equal(getPath({ prompt: [{ content: 'a' }, { content: 'b' }] }, 'prompt[-1].content'), 'b');
  t.equal(getPath({ a: 1 }, 'a.b.c'), undefined);
  const dir = await loadDataset(join(data, 'torl'));
  t.equal(dir.size, 374 + 374 + 194, 'a directory loads every dataset file in it');
});

t.test('bad input: missing columns, bad lines, unknown formats, no matches', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'torl-data-'));
  const f = join(dir, 'a.jsonl');
  writeFileSync(f, '{"problem": "1+1", "answer": "2"}\n{"question": "x"}\n');
  await t.rejects(loadDataset(f), { message: `${f}: row 1: no answer (looked at "answer", "reward_model.ground_truth", "ground_truth", "final_answer"; set columns.answer)` });
  await t.rejects(loadDataset(f, { columns: { problem: 'text' } }), /row 0: no problem \(looked at "text"/);
  writeFileSync(f, '{"problem": "1+1", "answer": "2"}\n{oops\n');
  await t.rejects(loadDataset(f), new RegExp(`${f}:2: invalid JSON line`));
  writeFileSync(join(dir, 'x.csv'), 'problem,answer\n');
  await t.rejects(loadDataset(join(dir, 'x.csv')), /x.csv: unknown dataset format/);
  await t.rejects(loadDataset(join(dir, 'missing.jsonl')), /ENOENT.*missing.jsonl/);
  await t.rejects(loadDataset(join(dir, 'none*.jsonl')), /no file matches/);
  writeFileSync(join(dir, 'bad.parquet'), 'not parquet at all');
  await t.rejects(loadDataset(join(dir, 'bad.parquet')), /bad.parquet: cannot read parquet/);
  await t.rejects(loadDataset(f, { maxPromptTokens: 10 }), /maxPromptTokens needs a tokenizer/);
});

t.test('templates: tir_base_0309, no-tool, [PROMPT], chat template', async (t) => {
  t.equal(templates.tirBase0309('What is $1+1$?'),
    'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. User: Please integrate natural language reasoning with programs to solve the problem above, and put your final answer within \\boxed{}.\nWhat is $1+1$?\nAssistant:');
  t.equal(templates.noTool('Q'),
    'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. User: Please reason step by step, and put your final answer within \\boxed{}.\nQ\nAssistant:');
  t.equal(templates.fromString('Problem: [PROMPT]\n([PROMPT])\nAnswer:')('x^2'), 'Problem: x^2\n(x^2)\nAnswer:');
  t.throws(() => templates.fromString('no placeholder'), /no \[PROMPT\] placeholder/);
  const tok = await tokP;
  t.equal(templates.chat(tok, 'Please reason step by step.')('2+2?'),
    '<|im_start|>system\nPlease reason step by step.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n');
  const ds = await loadDataset(join(data, 'benchmarks/aime24.jsonl'), { template: 'Q: [PROMPT]\nA:' });
  t.ok(ds.examples.every((e) => e.prompt === `Q: ${e.problem}\nA:`));
  const chat = await loadDataset(join(data, 'benchmarks/aime24.jsonl'), { template: 'chat', tokenizer: tok });
  t.ok(chat.examples[0]?.prompt.startsWith('<|im_start|>user\n'));
  await t.rejects(loadDataset(join(data, 'benchmarks/aime24.jsonl'), { template: 'chat' }), /template "chat" needs a tokenizer/);
});

t.test('maxPromptTokens filters templated prompts by token count, as ToRL', async (t) => {
  const tok = await tokP;
  const ds = await loadDataset(join(data, 'torl/test.parquet'), { tokenizer: tok, maxPromptTokens: 120 });
  t.equal(ds.size + ds.filtered.length, 374);
  t.ok(ds.filtered.length > 0 && ds.size > 0, `${ds.size} kept, ${ds.filtered.length} filtered`);
  for (const e of ds.examples) if ((e.promptTokenIds ?? []).length > 120) t.fail(`kept ${e.id}`);
  for (const e of ds.filtered) if ((e.promptTokenIds ?? []).length <= 120) t.fail(`filtered ${e.id}`);
  const e = ds.examples[0];
  t.same(e?.promptTokenIds, tok.encode(e?.prompt ?? ''));
});

t.test('seeded shuffling and epochs', async (t) => {
  const ds = await loadDataset(join(data, 'torl/test.parquet'));
  const p = permutation(374, 7);
  t.same([...p].sort((a, b) => a - b), Array.from({ length: 374 }, (_, i) => i), 'a permutation');
  t.same(permutation(374, 7), p, 'same seed, same order');
  t.not(permutation(374, 8).join(), p.join(), 'another seed, another order');
  t.not(permutation(374, 7, 1).join(), p.join(), 'each epoch reshuffled');
  // The order itself is pinned (a run resumed from a checkpoint, or by another version, must
  // see the same data order): Fisher-Yates over pure-rand's xoroshiro128+ seeded 7, one jump per epoch.
  t.same(permutation(12, 7), [9, 6, 8, 11, 1, 4, 3, 10, 2, 5, 7, 0], 'seed 7, epoch 0');
  t.same(permutation(12, 7, 1), [0, 1, 2, 8, 6, 5, 4, 7, 10, 3, 11, 9], 'seed 7, epoch 1');
  t.same(p.slice(0, 8), [85, 166, 235, 270, 230, 151, 179, 334], 'seed 7, 374 examples');
  t.same(ds.shuffled(7).map((e) => e.source.row), p);
  // Every example exactly once per epoch, the partial last batch kept.
  const kept = [...ds.batches({ batchSize: 100, seed: 3, epochs: 3, dropLast: false })];
  for (let epoch = 0; epoch < 3; epoch++) {
    const rows = kept.filter((b) => b.epoch === epoch).flatMap((b) => b.examples.map((e) => e.source.row));
    t.same([...rows].sort((a, b) => a - b), Array.from({ length: 374 }, (_, i) => i), `epoch ${epoch}: each example once`);
  }
  const batches = [...ds.batches({ batchSize: 64, seed: 7, epochs: 2 })];
  t.equal(batches.length, 10, '5 full batches per epoch, last partial dropped');
  t.same(batches.map((b) => [b.epoch, b.index]), [[0, 0], [0, 1], [0, 2], [0, 3], [0, 4], [1, 0], [1, 1], [1, 2], [1, 3], [1, 4]]);
  const epoch0 = batches.filter((b) => b.epoch === 0).flatMap((b) => b.examples.map((e) => e.source.row));
  t.equal(new Set(epoch0).size, 320, 'no example twice within an epoch');
  t.same(epoch0, p.slice(0, 320));
  const all = [...ds.batches({ batchSize: 100, seed: 1, dropLast: false, shuffle: false })];
  t.same(all.map((b) => b.examples.length), [100, 100, 100, 74]);
  t.equal(all[0]?.examples[0], ds.examples[0]);
  t.throws(() => [...ds.batches({ batchSize: 0, seed: 1 })], /batchSize must be a positive integer/);
  t.throws(() => [...ds.batches({ batchSize: 1000, seed: 1 })], /batchSize 1000 exceeds the dataset's 374 examples/);
});
