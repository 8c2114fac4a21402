import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRandomCheckpoint, loadConfig, qwen2Config, readSafetensors, readModelWeights, writeSafetensors,
  expectedParameters, toBf16Bits, toF16Bits, encodeFloats, randomWeights,
} from '../../lib/model/index.js';
import { qwenTokenizerDir } from '../tokenizer/fixture.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'torl-rc-'));
const bf16ToF32 = (bits: number): number => new Float32Array(new Uint32Array([bits << 16]).buffer)[0] ?? NaN;

t.test('bf16 / f16 conversion: hand-checked bit patterns, ties to even', async (t) => {
  const bits = (u: number): number => new Float32Array(new Uint32Array([u]).buffer)[0] ?? NaN;
  t.equal(toBf16Bits(1), 0x3f80);
  t.equal(toBf16Bits(-2), 0xc000);
  t.equal(toBf16Bits(3.14159), 0x4049);
  t.equal(toBf16Bits(bits(0x3f808000)), 0x3f80, 'tie rounds to even (down)');
  t.equal(toBf16Bits(bits(0x3f818000)), 0x3f82, 'tie rounds to even (up)');
  t.equal(toBf16Bits(bits(0x3f808001)), 0x3f81, 'above the tie rounds up');
  t.equal(toBf16Bits(Infinity), 0x7f80);
  t.equal(toBf16Bits(NaN) & 0x7fc0, 0x7fc0, 'NaN stays NaN');
  t.equal(toF16Bits(1), 0x3c00);
  t.equal(toF16Bits(-2), 0xc000);
  t.equal(toF16Bits(0.1), 0x2e66);
  t.equal(toF16Bits(65504), 0x7bff);
  t.equal(toF16Bits(65520), 0x7c00, 'overflow to infinity');
  t.equal(toF16Bits(2 ** -24), 0x0001, 'smallest subnormal');
  t.equal(toF16Bits(2 ** -26), 0x0000, 'below half the smallest subnormal');
  t.equal(toF16Bits(3 * 2 ** -25), 0x0002, 'subnormal tie rounds to even');
  t.equal(toF16Bits(NaN) & 0x7e00, 0x7e00);
  t.same([...encodeFloats(new Float32Array([1, -2]), 'bf16')], [0x80, 0x3f, 0x00, 0xc0], 'little-endian bytes');
  t.throws(() => encodeFloats(new Float32Array(1), 'i32'), /i32 is not a float dtype/);
});

t.test('random checkpoint with a tokenizer: an HF directory that loads back', async (t) => {
  const config = qwen2Config({ hiddenSize: 16, numAttentionHeads: 2, numKeyValueHeads: 1, intermediateSize: 32, numHiddenLayers: 1 });
  const dir = tmp();
  await createRandomCheckpoint(dir, config, { seed: 42, tokenizer: qwenTokenizerDir() });
  t.same(readdirSync(dir).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  t.same(await loadConfig(dir), config);
  t.same(JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8')), { bos_token_id: 151643, eos_token_id: 151643 });
  t.ok(readFileSync(join(dir, 'tokenizer.json')).equals(readFileSync(join(qwenTokenizerDir(), 'tokenizer.json'))), 'tokenizer copied');
  const weights = await readModelWeights(await readSafetensors(dir), config);
  t.same([...weights.keys()], expectedParameters(config).map((p) => p.name));
  t.notOk(weights.has('lm_head.weight'), 'tied: no lm_head');
  await t.rejects(createRandomCheckpoint(tmp(), qwen2Config({ vocabSize: 1000, bosTokenId: null, eosTokenId: 0 }), { seed: 1, tokenizer: qwenTokenizerDir() }),
    /token id 151668 does not fit vocab_size 1000/);
});

t.test('random weights: seeded, N(0, std) matrices, norms near 1, sharded save', async (t) => {
  const config = qwen2Config({ hiddenSize: 32, numAttentionHeads: 4, numKeyValueHeads: 2, intermediateSize: 64, numHiddenLayers: 2, vocabSize: 256, tieWordEmbeddings: false, bosTokenId: null, eosTokenId: 0 });
  const dir = tmp();
  await createRandomCheckpoint(dir, config, { seed: 42 });
  const weights = await readModelWeights(await readSafetensors(dir), config);
  t.ok(weights.has('lm_head.weight'));
  const q = weights.get('layers.0.attn.q.weight');
  t.equal(q?.dtype, 'bf16');
  const vals = [...new Uint16Array(q?.data.slice().buffer ?? new ArrayBuffer(0))].map(bf16ToF32);
  const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
  const std = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
  t.ok(Math.abs(mean) < 0.004 && Math.abs(std - 0.02) < 0.003, `q weights ~ N(0, 0.02): mean ${mean}, std ${std}`);
  const norm = [...new Uint16Array(weights.get('layers.1.attn_norm.weight')?.data.slice().buffer ?? new ArrayBuffer(0))].map(bf16ToF32);
  t.ok(norm.every((x) => Math.abs(x - 1) < 0.6) && new Set(norm).size > 1, 'norm weights near 1');

  const again = tmp();
  await createRandomCheckpoint(again, config, { seed: 42 });
  t.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(again, 'model.safetensors'))), 'same seed: identical bytes');
  const other = randomWeights(config, { seed: 43 }).get('model.layers.0.self_attn.q_proj.weight');
  t.notOk(Buffer.from(other?.data ?? []).equals(Buffer.from(q?.data ?? [])), 'another seed: other weights');
  t.equal(randomWeights(config, { seed: 42, dtype: 'f32' }).get('model.norm.weight')?.data.byteLength, 32 * 4);

  const sharded = tmp();
  await createRandomCheckpoint(sharded, config, { seed: 42, maxShardBytes: 20_000 });
  t.ok(readdirSync(sharded).includes('model.safetensors.index.json'));
  const back = await readModelWeights(await readSafetensors(sharded), config);
  for (const [name, w] of weights) if (!Buffer.from(back.get(name)?.data ?? []).equals(Buffer.from(w.data))) t.fail(`${name} differs when sharded`);
});

t.test('readModelWeights: missing tensors and wrong shapes name the tensor', async (t) => {
  const config = qwen2Config({ hiddenSize: 16, numAttentionHeads: 2, numKeyValueHeads: 1, intermediateSize: 32, numHiddenLayers: 1, vocabSize: 64, bosTokenId: null, eosTokenId: 0 });
  const w = randomWeights(config, { seed: 1 });
  const dir = tmp();
  const missing = new Map(w);
  missing.delete('model.layers.0.mlp.up_proj.weight');
  await writeSafetensors(join(dir, 'model.safetensors'), missing);
  await t.rejects(readModelWeights(await readSafetensors(dir), config), /model.safetensors: missing tensor "model.layers.0.mlp.up_proj.weight" \(expected shape \[32,16\]\)/);
  const wrong = new Map(w);
  wrong.set('model.norm.weight', { dtype: 'bf16', shape: [8], data: new Uint8Array(16) });
  await writeSafetensors(join(dir, 'model.safetensors'), wrong);
  await t.rejects(readModelWeights(await readSafetensors(dir), config), /tensor "model.norm.weight" has shape \[8\], the config implies \[16\]/);
  const ints = new Map(w);
  ints.set('model.norm.weight', { dtype: 'i32', shape: [16], data: new Uint8Array(64) });
  await writeSafetensors(join(dir, 'model.safetensors'), ints);
  await t.rejects(readModelWeights(await readSafetensors(dir), config), /tensor "model.norm.weight" has dtype i32, expected a float type/);
});
