// Bad runs are refused in setup, before any step, with a message naming the problem: an
// unreadable dataset, a model directory without a tokenizer, a sandbox that cannot start,
// a batch larger than the data, an output folder holding another run.
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';

import { GrpoTrainer, type TrainerConfigInput } from '../../lib/index.js';
import { trainerFixture } from '../helpers/trainer-fixture.js';

const fx = await trainerFixture(1);
let k = 0;
const fails = async (t: Test, edit: (c: TrainerConfigInput) => TrainerConfigInput, pattern: RegExp, what: string) => {
  const out = join(fx.dir, `err-${k++}`);
  const trainer = new GrpoTrainer(edit(fx.config(out)), { log: () => {} });
  await t.rejects(trainer.setup(), pattern, what);
  t.notOk(existsSync(join(out, 'metrics.jsonl')), `${what}: nothing written`);
  await trainer.close();
};

t.test('setup refuses bad inputs, naming them', async (t) => {
  await fails(t, (c) => ({ ...c, data: { ...c.data, train: join(fx.dir, 'nope.jsonl') } }), /data\.train: .*nope\.jsonl/, 'a missing dataset');
  writeFileSync(join(fx.dir, 'broken.jsonl'), '{"problem": "x", "answer": "1"}\n{ not json\n');
  await fails(t, (c) => ({ ...c, data: { ...c.data, train: join(fx.dir, 'broken.jsonl') } }), /data\.train: .*broken\.jsonl:2: invalid JSON line/, 'a malformed dataset (its line)');
  writeFileSync(join(fx.dir, 'nocol.jsonl'), '{"foo": "x", "answer": "1"}\n');
  await fails(t, (c) => ({ ...c, data: { ...c.data, train: join(fx.dir, 'nocol.jsonl') } }), /data\.train: .*no problem \(looked at/, 'a dataset without the problem column');
  await fails(t, (c) => ({ ...c, data: { ...c.data, trainBatchSize: 64 } }), /data\.trainBatchSize = 64 exceeds the 6 training examples/, 'a batch larger than the data');
  const bare = join(fx.dir, 'bare-model');
  mkdirSync(bare, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) cpSync(join(fx.modelDir, f), join(bare, f));
  await fails(t, (c) => ({ ...c, model: { path: bare } }), /model: '.*bare-model' has no tokenizer\.json \(set model\.tokenizer/, 'a model directory without a tokenizer');
  await fails(t, (c) => ({ ...c, model: { path: join(fx.dir, 'no-model') } }), /model\.path: '.*no-model' is not a directory with config\.json/, 'a missing model');
  await fails(t, (c) => ({ ...c, sandbox: { python: '/nonexistent/python3' } }), /sandbox: the Python sandbox cannot start: .*nonexistent/, 'a sandbox that cannot start');
  t.throws(() => new GrpoTrainer({ ...fx.config(join(fx.dir, 'x')), rollout: { temperature: 0 } }), /rollout\.temperature must be > 0 for training/, 'greedy training');
});

t.test('a fresh run will not write over another run', async (t) => {
  const out = join(fx.dir, 'taken');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'metrics.jsonl'), '{"step":1}\n');
  const trainer = new GrpoTrainer(fx.config(out), { log: () => {} });
  await t.rejects(trainer.setup(), /already holds a run .*--resume.*--out/);
  await trainer.close();
  rmSync(out, { recursive: true });
});
