// The torl command: `torl generate` on a random checkpoint gives what the Engine gives for the
// same model, prompt and sampling (the CLI is a front end over it); bad input exits 1 naming it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

import { createRandomCheckpoint, Engine, loadTokenizer, Model, qwen2Config } from '../../lib/index.js';
import { qwenTokenizerDir } from '../tokenizer/fixture.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(root, 'lib/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

t.test('torl generate = Engine.generate for the same model, prompt and sampling', async (t) => {
  const tok = await loadTokenizer(qwenTokenizerDir());
  const dir = mkdtempSync(join(tmpdir(), 'torl-cli-'));
  const config = qwen2Config({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 16, vocabSize: tok.vocabSize, bosTokenId: 0, eosTokenId: tok.eosTokenId!, maxPositionEmbeddings: 256 });
  await createRandomCheckpoint(dir, config, { seed: 5, tokenizer: qwenTokenizerDir() });
  const r = cli('generate', '--model', dir, '--prompt', 'Compute 2+3.', '--prompt', 'Hi', '--temperature', '0.8', '--seed', '7', '--n', '2', '--max-tokens', '12', '--json');
  t.equal(r.status, 0, `exit 0 (stderr: ${r.stderr.slice(-500)})`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; outputs: { tokenIds: number[]; text: string }[] });
  t.equal(lines.length, 2, 'one line per prompt');
  const e = new Engine(await Model.load(dir), { tokenizer: tok });
  const want = await e.generate(['Compute 2+3.', 'Hi'], { temperature: 0.8, seed: 7, n: 2, maxTokens: 12 });
  lines.forEach((l, i) => {
    t.same(l.outputs.map((o) => o.tokenIds), want[i]!.outputs.map((o) => o.tokenIds), `prompt ${i}: the engine's tokens`);
    t.same(l.outputs.map((o) => o.text), want[i]!.outputs.map((o) => o.text), `prompt ${i}: its text`);
  });
  t.match(r.stderr, /tokens in [\d.]+ s/, 'throughput on stderr');
  e.dispose();
});

t.test('bad input: exit 1 and a message naming it', (t) => {
  const missing = cli('generate', '--model', '/nonexistent/model', '--prompt', 'x');
  t.equal(missing.status, 1);
  t.match(missing.stderr, /--model \/nonexistent\/model: no such directory/);
  const file = cli('generate', '--model', join(root, 'package.json'), '--prompt', 'x');
  t.match(file.stderr, /not a directory/);
  const nan = cli('generate', '--model', root, '--temperature', 'hot');
  t.match(nan.stderr, /--temperature must be a number, got 'hot'/);
  const unknown = cli('frobnicate');
  t.equal(unknown.status, 1);
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
  t.end();
});
