// Hugging Face Qwen2 parameter names <-> torl's own names, and the parameter list a config implies.
import type { ModelConfig } from './config.js';
import type { HostTensor, SafetensorsCheckpoint } from './safetensors.js';

/** One parameter of the model: our name, the HF name, its shape. */
export interface ParamSpec {
  name: string;
  hfName: string;
  shape: number[];
}

/** Per-layer parameters: [our suffix, HF suffix]. */
const LAYER_PARAMS: [string, string][] = [
  ['attn_norm.weight', 'input_layernorm.weight'],
  ['attn.q.weight', 'self_attn.q_proj.weight'],
  ['attn.q.bias', 'self_attn.q_proj.bias'],
  ['attn.k.weight', 'self_attn.k_proj.weight'],
  ['attn.k.bias', 'self_attn.k_proj.bias'],
  ['attn.v.weight', 'self_attn.v_proj.weight'],
  ['attn.v.bias', 'self_attn.v_proj.bias'],
  ['attn.o.weight', 'self_attn.o_proj.weight'],
  ['mlp_norm.weight', 'post_attention_layernorm.weight'],
  ['mlp.gate.weight', 'mlp.gate_proj.weight'],
  ['mlp.up.weight', 'mlp.up_proj.weight'],
  ['mlp.down.weight', 'mlp.down_proj.weight'],
];
const GLOBAL_PARAMS: [string, string][] = [
  ['embed.weight', 'model.embed_tokens.weight'],
  ['final_norm.weight', 'model.norm.weight'],
  ['lm_head.weight', 'lm_head.weight'],
];
const LAYER_TO_HF = new Map(LAYER_PARAMS);
const LAYER_FROM_HF = new Map(LAYER_PARAMS.map(([a, b]) => [b, a]));
const GLOBAL_TO_HF = new Map(GLOBAL_PARAMS);
const GLOBAL_FROM_HF = new Map(GLOBAL_PARAMS.map(([a, b]) => [b, a]));

/** Our name for an HF Qwen2 parameter name (`model.layers.3.self_attn.q_proj.bias` -> `layers.3.attn.q.bias`). */
export function hfToOurs(hfName: string): string {
  const global = GLOBAL_FROM_HF.get(hfName);
  if (global !== undefined) return global;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hfName);
  const suffix = m?.[2] !== undefined ? LAYER_FROM_HF.get(m[2]) : undefined;
  if (!m || suffix === undefined) throw new Error(`unknown Qwen2 parameter name "${hfName}"`);
  return `layers.${m[1]}.${suffix}`;
}

/** The HF name for one of our parameter names (the inverse of hfToOurs). */
export function oursToHf(name: string): string {
  const global = GLOBAL_TO_HF.get(name);
  if (global !== undefined) return global;
  const m = /^layers\.(\d+)\.(.+)$/.exec(name);
  const suffix = m?.[2] !== undefined ? LAYER_TO_HF.get(m[2]) : undefined;
  if (!m || suffix === undefined) throw new Error(`unknown torl parameter name "${name}"`);
  return `model.layers.${m[1]}.${suffix}`;
}

/** Every parameter a Qwen2 config implies, with shapes (lm_head omitted when embeddings are tied). */
export function expectedParameters(config: ModelConfig): ParamSpec[] {
  const { hiddenSize: h, intermediateSize: f, headDim: d, numAttentionHeads: nq, numKeyValueHeads: nkv, vocabSize: v } = config;
  const layerShapes: Record<string, number[]> = {
    'attn_norm.weight': [h],
    'attn.q.weight': [nq * d, h],
    'attn.q.bias': [nq * d],
    'attn.k.weight': [nkv * d, h],
    'attn.k.bias': [nkv * d],
    'attn.v.weight': [nkv * d, h],
    'attn.v.bias': [nkv * d],
    'attn.o.weight': [h, nq * d],
    'mlp_norm.weight': [h],
    'mlp.gate.weight': [f, h],
    'mlp.up.weight': [f, h],
    'mlp.down.weight': [h, f],
  };
  const spec = (name: string, shape: number[]): ParamSpec => ({ name, hfName: oursToHf(name), shape });
  const out = [spec('embed.weight', [v, h])];
  for (let i = 0; i < config.numHiddenLayers; i++) {
    for (const [suffix] of LAYER_PARAMS) out.push(spec(`layers.${i}.${suffix}`, layerShapes[suffix] ?? []));
  }
  out.push(spec('final_norm.weight', [h]));
  if (!config.tieWordEmbeddings) out.push(spec('lm_head.weight', [v, h]));
  return out;
}

/**
 * Read an HF checkpoint's weights under our names, checking that every parameter the config
 * implies is present with the right shape (a tied checkpoint may omit lm_head; one that has it
 * anyway keeps it out). Unknown extra tensors (e.g. rotary caches) are ignored.
 */
export async function readModelWeights(
  ckpt: SafetensorsCheckpoint,
  config: ModelConfig,
  onProgress?: (done: number, total: number) => void,
): Promise<Map<string, HostTensor>> {
  const where = ckpt.files.length === 1 ? ckpt.files[0] : `${ckpt.files.length} shards (${ckpt.files[0]}, …)`;
  const params = expectedParameters(config);
  for (const p of params) {
    const e = ckpt.entries.get(p.hfName);
    if (!e) throw new Error(`${where}: missing tensor "${p.hfName}" (expected shape ${JSON.stringify(p.shape)})`);
    if (e.shape.join() !== p.shape.join()) {
      throw new Error(`${e.file}: tensor "${p.hfName}" has shape ${JSON.stringify(e.shape)}, the config implies ${JSON.stringify(p.shape)}`);
    }
    if (e.dtype !== 'f32' && e.dtype !== 'bf16' && e.dtype !== 'f16') throw new Error(`${e.file}: tensor "${p.hfName}" has dtype ${e.dtype}, expected a float type`);
  }
  const out = new Map<string, HostTensor>();
  for (const p of params) {
    out.set(p.name, await ckpt.read(p.hfName));
    onProgress?.(out.size, params.length);
  }
  return out;
}
