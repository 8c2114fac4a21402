// Hugging Face Qwen2 config.json <-> a typed, validated ModelConfig.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';

/** Storage precision named by config.json's `torch_dtype`. */
export type TorchDType = 'bfloat16' | 'float16' | 'float32';

/** The Qwen2 / Qwen2.5 architecture as torl runs it (q/k/v projections carry a bias, SwiGLU MLP, RMSNorm, RoPE). */
export interface ModelConfig {
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  /** Per-head dimension; HF defaults it to hidden_size / num_attention_heads. */
  headDim: number;
  ropeTheta: number;
  rmsNormEps: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  /** One id or several (generation stops at any of them). */
  eosTokenId: number | number[] | null;
  torchDtype: TorchDType;
  /** Every other key of config.json, kept so that writeConfig writes the file back unchanged in meaning. */
  extra: Record<string, unknown>;
}

/** The keys of config.json that ModelConfig owns (everything else lands in `extra`). */
const FIELDS: Record<Exclude<keyof ModelConfig, 'extra'>, string> = {
  hiddenSize: 'hidden_size',
  intermediateSize: 'intermediate_size',
  numHiddenLayers: 'num_hidden_layers',
  numAttentionHeads: 'num_attention_heads',
  numKeyValueHeads: 'num_key_value_heads',
  headDim: 'head_dim',
  ropeTheta: 'rope_theta',
  rmsNormEps: 'rms_norm_eps',
  vocabSize: 'vocab_size',
  tieWordEmbeddings: 'tie_word_embeddings',
  maxPositionEmbeddings: 'max_position_embeddings',
  bosTokenId: 'bos_token_id',
  eosTokenId: 'eos_token_id',
  torchDtype: 'torch_dtype',
};

const ARCHITECTURE = 'Qwen2ForCausalLM';

/** Read `config.json` from a model directory (or the file itself) into a validated ModelConfig. */
export async function loadConfig(pathOrDir: string): Promise<ModelConfig> {
  const kind = await stat(pathOrDir).then((s) => (s.isDirectory() ? 'dir' : 'file'), () => null);
  if (kind === null) throw new Error(notModelDir('loadConfig', pathOrDir));
  const file = kind === 'dir' ? join(pathOrDir, 'config.json') : pathOrDir;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read config: ${(e as Error).message}`);
  }
  return parseConfig(json, file);
}

/** The error for a path that is not a local HF model directory (a hub id, a typo, a file). */
export function notModelDir(op: string, path: string): string {
  return `${op}: '${path}' is not a directory with config.json (torl loads local Hugging Face directories; it downloads nothing)`;
}

/** Throws notModelDir unless `dir` is a directory holding config.json. */
export async function checkModelDir(op: string, dir: string): Promise<void> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  const hasConfig = isDir && (await stat(join(dir, 'config.json')).then((s) => s.isFile(), () => false));
  if (!hasConfig) throw new Error(notModelDir(op, dir));
}

/** Validate an HF config object (already parsed JSON); `source` names it in errors. */
export function parseConfig(json: unknown, source = 'config.json'): ModelConfig {
  const fail = (msg: string): never => { throw new Error(`${source}: ${msg}`); };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('expected a JSON object');
  const raw = json as Record<string, unknown>;
  const archs = raw.architectures;
  if (raw.model_type !== 'qwen2' && !(Array.isArray(archs) && archs.includes(ARCHITECTURE))) {
    fail(`unsupported architecture ${JSON.stringify(archs ?? raw.model_type)}: torl runs ${ARCHITECTURE} (model_type "qwen2") only`);
  }
  if (Array.isArray(archs) && !archs.includes(ARCHITECTURE)) fail(`architectures ${JSON.stringify(archs)} does not include ${ARCHITECTURE}`);

  const posInt = (key: string): number => {
    const v = raw[key];
    if (!Number.isInteger(v) || (v as number) <= 0) fail(`field "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const posNum = (key: string, dflt: number): number => {
    const v = raw[key] ?? dflt;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) fail(`field "${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const tokenId = (key: string): number | null => {
    const v = raw[key] ?? null;
    if (v !== null && (!Number.isInteger(v) || (v as number) < 0)) fail(`field "${key}" must be a token id, got ${JSON.stringify(v)}`);
    return v as number | null;
  };

  const hiddenSize = posInt('hidden_size');
  const numAttentionHeads = posInt('num_attention_heads');
  const numKeyValueHeads = raw.num_key_value_heads === undefined ? numAttentionHeads : posInt('num_key_value_heads');
  if (raw.head_dim === undefined && hiddenSize % numAttentionHeads !== 0) {
    fail(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numAttentionHeads}`);
  }
  const headDim = raw.head_dim === undefined ? hiddenSize / numAttentionHeads : posInt('head_dim');
  if (headDim % 2 !== 0) fail(`head_dim ${headDim} must be even (RoPE rotates pairs)`);
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    fail(`num_attention_heads ${numAttentionHeads} is not a multiple of num_key_value_heads ${numKeyValueHeads}`);
  }
  const vocabSize = posInt('vocab_size');

  const eosRaw = raw.eos_token_id ?? null;
  const eosList = Array.isArray(eosRaw) ? eosRaw : eosRaw === null ? [] : [eosRaw];
  for (const id of eosList) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) fail(`eos_token_id ${JSON.stringify(eosRaw)} is outside the vocabulary (vocab_size ${vocabSize})`);
  }
  const bosTokenId = tokenId('bos_token_id');
  if (bosTokenId !== null && bosTokenId >= vocabSize) fail(`bos_token_id ${bosTokenId} is outside the vocabulary (vocab_size ${vocabSize})`);

  const torchDtype = raw.torch_dtype ?? 'bfloat16';
  if (torchDtype !== 'bfloat16' && torchDtype !== 'float16' && torchDtype !== 'float32') {
    fail(`torch_dtype ${JSON.stringify(torchDtype)} is not one of bfloat16, float16, float32`);
  }
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') fail(`hidden_act ${JSON.stringify(act)} is not supported (Qwen2 uses "silu")`);
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) fail(`rope_scaling ${JSON.stringify(raw.rope_scaling)} is not supported`);
  if (raw.use_sliding_window === true) fail('use_sliding_window: true is not supported');
  const tie = raw.tie_word_embeddings ?? false;
  if (typeof tie !== 'boolean') fail(`field "tie_word_embeddings" must be a boolean, got ${JSON.stringify(tie)}`);

  const extra: Record<string, unknown> = {};
  const owned = new Set(Object.values(FIELDS));
  for (const [k, v] of Object.entries(raw)) if (!owned.has(k)) extra[k] = v;

  return {
    hiddenSize,
    intermediateSize: posInt('intermediate_size'),
    numHiddenLayers: posInt('num_hidden_layers'),
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    ropeTheta: posNum('rope_theta', 10000),
    rmsNormEps: posNum('rms_norm_eps', 1e-6),
    vocabSize,
    tieWordEmbeddings: tie as boolean,
    maxPositionEmbeddings: posInt('max_position_embeddings'),
    bosTokenId,
    eosTokenId: eosRaw as number | number[] | null,
    torchDtype: torchDtype as TorchDType,
    extra,
  };
}

/** The HF config.json object for a ModelConfig (the inverse of parseConfig). */
export function toHfConfig(config: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { architectures: [ARCHITECTURE], model_type: 'qwen2', hidden_act: 'silu', ...config.extra };
  for (const [key, hfKey] of Object.entries(FIELDS)) out[hfKey] = config[key as keyof typeof FIELDS];
  return out;
}

/** Write `config.json` into `dir` atomically; returns the file's path. */
export async function writeConfig(dir: string, config: ModelConfig): Promise<string> {
  parseConfig(toHfConfig(config), 'ModelConfig'); // refuse to write a config we could not read back
  const file = join(dir, 'config.json');
  await writeFileAtomic(file, JSON.stringify(toHfConfig(config), null, 2) + '\n');
  return file;
}

/** A ModelConfig from a few sizes (the rest Qwen2.5 defaults): for tests, demos and random checkpoints. */
export function qwen2Config(sizes: Partial<Omit<ModelConfig, 'extra'>> & { extra?: Record<string, unknown> } = {}): ModelConfig {
  const hiddenSize = sizes.hiddenSize ?? 64;
  const numAttentionHeads = sizes.numAttentionHeads ?? 4;
  const base: ModelConfig = {
    hiddenSize,
    intermediateSize: 4 * hiddenSize,
    numHiddenLayers: 2,
    numAttentionHeads,
    numKeyValueHeads: 2,
    headDim: hiddenSize / numAttentionHeads,
    ropeTheta: 10000,
    rmsNormEps: 1e-6,
    vocabSize: 151936,
    tieWordEmbeddings: true,
    maxPositionEmbeddings: 4096,
    bosTokenId: 151643,
    eosTokenId: 151643,
    torchDtype: 'bfloat16',
    extra: {},
  };
  return parseConfig(toHfConfig({ ...base, ...sizes, extra: { ...base.extra, ...sizes.extra } }), 'qwen2Config');
}
