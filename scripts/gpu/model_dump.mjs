// The torl side of scripts/gpu/compare_hf.py, in plain JS so it runs beside the
// carried addon without npm dependencies: loads an HF Qwen2 directory into the
// native model on a device, runs log-probs and one SFT forward/backward over a
// packed batch, writes {logprob, entropy, loss, grads: {hfName: [...]}} as JSON.
//   TORL_ADDON=build/Release/torl.node node model_dump.mjs <dir> <batch.json> <out.json> <device> <dtype>
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [dir, batchFile, outFile, device = 'cuda', dtype = 'bf16'] = process.argv.slice(2);
const torl = createRequire(import.meta.url)(process.env.TORL_ADDON ?? '../../build/Release/torl.node');
const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
const config = {
  hiddenSize: hf.hidden_size, intermediateSize: hf.intermediate_size, numHiddenLayers: hf.num_hidden_layers,
  numAttentionHeads: hf.num_attention_heads, numKeyValueHeads: hf.num_key_value_heads,
  headDim: hf.head_dim ?? hf.hidden_size / hf.num_attention_heads, vocabSize: hf.vocab_size,
  maxPositionEmbeddings: hf.max_position_embeddings, ropeTheta: hf.rope_theta, rmsNormEps: hf.rms_norm_eps,
  tieWordEmbeddings: hf.tie_word_embeddings,
};
const LAYER = { input_layernorm: 'attn_norm', post_attention_layernorm: 'mlp_norm', 'self_attn.q_proj': 'attn.q', 'self_attn.k_proj': 'attn.k', 'self_attn.v_proj': 'attn.v', 'self_attn.o_proj': 'attn.o', 'mlp.gate_proj': 'mlp.gate', 'mlp.up_proj': 'mlp.up', 'mlp.down_proj': 'mlp.down' };
const ours = (n) => {
  if (n === 'model.embed_tokens.weight') return 'embed.weight';
  if (n === 'model.norm.weight') return 'final_norm.weight';
  if (n === 'lm_head.weight') return config.tieWordEmbeddings ? null : 'lm_head.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(n);
  return `layers.${m[1]}.${LAYER[m[2]]}.${m[3]}`;
};
const file = readFileSync(join(dir, 'model.safetensors'));
const hlen = Number(file.readBigUInt64LE(0));
const header = JSON.parse(file.subarray(8, 8 + hlen).toString('utf8'));
const model = new torl.Qwen2Model(config, { device, dtype });
const toHf = {};
for (const [name, e] of Object.entries(header)) {
  if (name === '__metadata__' || ours(name) === null) continue;
  const bytes = new Uint8Array(file.subarray(8 + hlen + e.data_offsets[0], 8 + hlen + e.data_offsets[1]));
  model.setWeight(ours(name), torl.fromBytes(bytes, e.shape, { F32: 'f32', BF16: 'bf16', F16: 'f16' }[e.dtype]));
  toHf[ours(name)] = name;
}
const b = JSON.parse(readFileSync(batchFile, 'utf8'));
const batch = {
  tokens: torl.fromArray(Int32Array.from(b.tokens), [b.tokens.length]),
  positions: torl.fromArray(Int32Array.from(b.positions), [b.tokens.length]),
  cuSeqlens: torl.fromArray(Int32Array.from(b.cuSeqlens), [b.cuSeqlens.length]),
  targets: torl.fromArray(Int32Array.from(b.targets), [b.tokens.length]),
  mask: torl.fromArray(Float32Array.from(b.mask), [b.tokens.length]),
};
const lp = await model.logprobs(batch, {});
const step = await model.forwardBackward(batch, { kind: 'crossEntropy' });
const grads = {};
for (const [name, g] of Object.entries(model.gradients())) if (b.grads.includes(toHf[name])) grads[toHf[name]] = Array.from(g.toArray());
writeFileSync(outFile, JSON.stringify({ logprob: Array.from(lp.logprob.toArray()), entropy: Array.from(lp.entropy.toArray()), loss: step.loss, grads }));
