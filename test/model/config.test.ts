import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, parseConfig, writeConfig, expectedParameters, hfToOurs, oursToHf } from '../../lib/model/index.js';

const fixture = resolve(import.meta.dirname, '../fixtures/qwen2.5-math-1.5b.config.json');

t.test('reads the Qwen2.5-Math-1.5B config.json', async (t) => {
  const c = await loadConfig(fixture);
  t.match(c, {
    hiddenSize: 1536, intermediateSize: 8960, numHiddenLayers: 28, numAttentionHeads: 12, numKeyValueHeads: 2,
    headDim: 128, ropeTheta: 10000, rmsNormEps: 1e-6, vocabSize: 151936, tieWordEmbeddings: true,
    maxPositionEmbeddings: 4096, bosTokenId: 151643, eosTokenId: 151643, torchDtype: 'bfloat16',
  });
  t.equal(c.extra.sliding_window, 4096);
  // published size of Qwen2.5-1.5B: 1.54B parameters, 1.31B without the (tied) embedding
  const params = expectedParameters(c);
  const total = params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  t.equal(Math.round(total / 1e7) / 100, 1.54);
  t.equal(Math.round((total - 151936 * 1536) / 1e7) / 100, 1.31);
  t.equal(params.length, 1 + 28 * 12 + 1, 'no lm_head when tied');
});

t.test('write -> read gives the same meaning; unknown keys kept', async (t) => {
  const c = await loadConfig(fixture);
  const dir = mkdtempSync(join(tmpdir(), 'torl-cfg-'));
  await writeConfig(dir, c);
  const back = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  const orig = JSON.parse(readFileSync(fixture, 'utf8'));
  t.same(back, { ...orig, head_dim: 128 }, 'identical apart from the explicit head_dim');
  t.same(await loadConfig(dir), c);
});

t.test('rejects other architectures and inconsistent values, naming file and field', async (t) => {
  const base = JSON.parse(readFileSync(fixture, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'torl-cfg-'));
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ architectures: ['LlamaForCausalLM'], model_type: 'llama' }, /unsupported architecture \["LlamaForCausalLM"\]/],
    [{ hidden_size: 1000 }, /hidden_size 1000 is not divisible by num_attention_heads 12/],
    [{ num_key_value_heads: 5 }, /num_attention_heads 12 is not a multiple of num_key_value_heads 5/],
    [{ num_hidden_layers: 0 }, /field "num_hidden_layers" must be a positive integer, got 0/],
    [{ vocab_size: 1.5 }, /field "vocab_size" must be a positive integer/],
    [{ eos_token_id: [151643, 999999] }, /eos_token_id \[151643,999999\] is outside the vocabulary/],
    [{ torch_dtype: 'int8' }, /torch_dtype "int8" is not one of/],
    [{ hidden_act: 'gelu' }, /hidden_act "gelu" is not supported/],
    [{ rope_scaling: { type: 'yarn', factor: 4 } }, /rope_scaling .* is not supported/],
    [{ use_sliding_window: true }, /use_sliding_window: true is not supported/],
    [{ head_dim: 7 }, /head_dim 7 must be even/],
    [{ rms_norm_eps: -1 }, /field "rms_norm_eps" must be a positive number/],
  ];
  for (const [patch, re] of cases) {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ ...base, ...patch }));
    await t.rejects(loadConfig(dir), re, JSON.stringify(patch));
    await t.rejects(loadConfig(dir), new RegExp(file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
  }
  writeFileSync(join(dir, 'config.json'), '{not json');
  await t.rejects(loadConfig(dir), /config.json: cannot read config/);
  t.throws(() => parseConfig([1, 2], 'x.json'), /x.json: expected a JSON object/);
});

t.test('HF parameter names map to ours and back', async (t) => {
  const pairs: [string, string][] = [
    ['model.embed_tokens.weight', 'embed.weight'],
    ['model.layers.0.self_attn.q_proj.weight', 'layers.0.attn.q.weight'],
    ['model.layers.0.self_attn.q_proj.bias', 'layers.0.attn.q.bias'],
    ['model.layers.12.self_attn.k_proj.bias', 'layers.12.attn.k.bias'],
    ['model.layers.3.self_attn.v_proj.weight', 'layers.3.attn.v.weight'],
    ['model.layers.27.self_attn.o_proj.weight', 'layers.27.attn.o.weight'],
    ['model.layers.1.mlp.gate_proj.weight', 'layers.1.mlp.gate.weight'],
    ['model.layers.1.mlp.up_proj.weight', 'layers.1.mlp.up.weight'],
    ['model.layers.1.mlp.down_proj.weight', 'layers.1.mlp.down.weight'],
    ['model.layers.5.input_layernorm.weight', 'layers.5.attn_norm.weight'],
    ['model.layers.5.post_attention_layernorm.weight', 'layers.5.mlp_norm.weight'],
    ['model.norm.weight', 'final_norm.weight'],
    ['lm_head.weight', 'lm_head.weight'],
  ];
  for (const [hf, ours] of pairs) {
    t.equal(hfToOurs(hf), ours);
    t.equal(oursToHf(ours), hf);
  }
  t.throws(() => hfToOurs('model.layers.0.self_attn.rotary_emb.inv_freq'), /unknown Qwen2 parameter name "model.layers.0.self_attn.rotary_emb.inv_freq"/);
  t.throws(() => hfToOurs('input_layernorm.weight'), /unknown Qwen2 parameter name/);
  t.throws(() => oursToHf('layers.x.attn.q.weight'), /unknown torl parameter name/);
  const c = parseConfig({ ...JSON.parse(readFileSync(fixture, 'utf8')), tie_word_embeddings: false, num_hidden_layers: 1 });
  const shapes = Object.fromEntries(expectedParameters(c).map((p) => [p.hfName, p.shape]));
  t.same(shapes['model.layers.0.self_attn.k_proj.weight'], [256, 1536]);
  t.same(shapes['model.layers.0.self_attn.o_proj.weight'], [1536, 1536]);
  t.same(shapes['model.layers.0.mlp.down_proj.weight'], [1536, 8960]);
  t.same(shapes['lm_head.weight'], [151936, 1536]);
});
