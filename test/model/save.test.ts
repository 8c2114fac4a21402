// Model.save writes a complete HF directory (config, weights, and the tokenizer/generation-config files
// of the directory the model came from, or of `tokenizerDir`); Model.load / loadTokenizer / loadConfig
// name what they expected when given a hub id or a file.
import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model, createRandomCheckpoint, demo, loadConfig, loadTokenizer, qwen2Config } from '../../lib/index.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'torl-save-'));
// a small byte-level BPE (torl.demo's), so the test stays cheap
const tokDir = mkdtempSync(join(tmpdir(), 'torl-save-tok-'));
const vocabSize = await demo.writeDemoTokenizer(tokDir, ['x^2 = 4 so x = 2 or x = -2; 1 + 1 = 2']);
const bpeDir = () => tokDir;
const config = qwen2Config({ hiddenSize: 16, numAttentionHeads: 2, numKeyValueHeads: 1, intermediateSize: 32, numHiddenLayers: 1, vocabSize, bosTokenId: 0, eosTokenId: vocabSize - 1 });
const same = (a: string, b: string): boolean => readFileSync(a).equals(readFileSync(b));

t.test('a loaded model saves with its source directory\'s tokenizer and generation config', async (t) => {
  const src = tmp();
  await createRandomCheckpoint(src, config, { seed: 7, tokenizer: bpeDir() });
  writeFileSync(join(src, 'special_tokens_map.json'), '{"eos_token": "<|endoftext|>"}\n');
  const model = await Model.load(src);
  t.equal(model.sourceDir, src);
  const out = join(tmp(), 'saved');
  await model.save(out);
  t.same(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json']) t.ok(same(join(src, f), join(out, f)), `${f} copied`);
  const back = await Model.load(out);
  const tok = await loadTokenizer(out);
  t.equal(tok.eosTokenId, (await loadTokenizer(src)).eosTokenId, 'the saved directory has a working tokenizer');
  t.same(tok.encode('x^2 = 4'), (await loadTokenizer(src)).encode('x^2 = 4'));
  const batch = { tokens: Int32Array.from(tok.encode('1 + 1 = 2')), cuSeqlens: Int32Array.from([0, tok.encode('1 + 1 = 2').length]) };
  t.same([...(await back.logprobs(batch)).logprobs], [...(await model.logprobs(batch)).logprobs], 'same weights');
  // saving into the directory it came from keeps its files
  await back.save(out);
  t.ok(same(join(src, 'tokenizer.json'), join(out, 'tokenizer.json')));
});

t.test('a random model saves without tokenizer files, or with those of tokenizerDir', async (t) => {
  const model = Model.random(config, { seed: 1 });
  t.equal(model.sourceDir, undefined);
  const bare = tmp();
  await model.save(bare, { dtype: 'bf16' });
  t.same(readdirSync(bare).sort(), ['config.json', 'model.safetensors']);
  t.equal(JSON.parse(readFileSync(join(bare, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  const full = tmp();
  await model.save(full, { tokenizerDir: bpeDir() });
  t.same(readdirSync(full).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  t.ok(same(join(bpeDir(), 'tokenizer.json'), join(full, 'tokenizer.json')));
});

t.test('path errors say what torl expected', async (t) => {
  const expected = (op: string, p: string) => `${op}: '${p}' is not a directory with config.json (torl loads local Hugging Face directories; it downloads nothing)`;
  await t.rejects(Model.load('Qwen2.5-Math-1.5B'), { message: expected('Model.load', 'Qwen2.5-Math-1.5B') }, 'a hub id');
  const dir = tmp();
  await createRandomCheckpoint(dir, config, { seed: 1 });
  const file = join(dir, 'model.safetensors');
  await t.rejects(Model.load(file), { message: expected('Model.load', file) }, 'a file');
  await t.rejects(Model.load(tmp()), /is not a directory with config\.json/, 'an empty directory');
  await t.rejects(loadConfig('Qwen2.5-Math-1.5B'), { message: expected('loadConfig', 'Qwen2.5-Math-1.5B') });
  await t.rejects(loadTokenizer('Qwen/Qwen2.5-Math-1.5B'), { message: "loadTokenizer: 'Qwen/Qwen2.5-Math-1.5B' is not a directory with tokenizer.json nor a tokenizer.json file (torl loads local Hugging Face directories; it downloads nothing)" });
});
