// A seeded random Qwen2 checkpoint written as an HF model directory: for tests, benchmarks, demos.
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { DType } from '../dtype.js';
import { writeFileAtomic } from './atomic.js';
import { writeConfig, type ModelConfig } from './config.js';
import { encodeFloats } from './float.js';
import { expectedParameters } from './names.js';
import { writeSafetensors, type HostTensor } from './safetensors.js';

/** Options for createRandomCheckpoint. */
export interface RandomCheckpointOptions {
  /** PRNG seed: the same seed and config give byte-identical weights. */
  seed: number;
  /** Storage dtype; defaults to the config's torch_dtype. */
  dtype?: 'f32' | 'bf16' | 'f16';
  /** Standard deviation of weight matrices and biases (default: config initializer_range or 0.02). */
  std?: number;
  /** A tokenizer.json (or a directory holding one, plus tokenizer_config.json) to copy beside the weights. */
  tokenizer?: string;
  /** Shard past this many bytes (see writeSafetensors). */
  maxShardBytes?: number;
}

const DTYPE_OF = { bfloat16: 'bf16', float16: 'f16', float32: 'f32' } as const;

/** Files the tokenizer option copies, when present. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

/** Seeded random weights for every parameter the config implies, under HF names (norm weights near 1). */
export function randomWeights(config: ModelConfig, opts: Omit<RandomCheckpointOptions, 'tokenizer' | 'maxShardBytes'>): Map<string, HostTensor> {
  const dtype: DType = opts.dtype ?? DTYPE_OF[config.torchDtype];
  const rawStd = opts.std ?? config.extra.initializer_range ?? 0.02;
  const std = typeof rawStd === 'number' ? rawStd : 0.02;
  const rng = xoroshiro128plus(opts.seed);
  let spare: number | undefined;
  const normal = (): number => { // Box-Muller, both outputs used
    if (spare !== undefined) { const s = spare; spare = undefined; return s; }
    const u = 1 - uniformFloat64(rng);
    const r = Math.sqrt(-2 * Math.log(u));
    const t = 2 * Math.PI * uniformFloat64(rng);
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
  const out = new Map<string, HostTensor>();
  for (const p of expectedParameters(config)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    const isNorm = p.name.endsWith('norm.weight');
    for (let i = 0; i < n; i++) values[i] = isNorm ? 1 + 0.1 * normal() : std * normal();
    out.set(p.hfName, { dtype, shape: p.shape, data: encodeFloats(values, dtype) });
  }
  return out;
}

/** Copy tokenizer files into `dir` and check the config's vocabulary covers the tokenizer's ids. */
async function copyTokenizer(source: string, dir: string, config: ModelConfig): Promise<void> {
  const srcDir = (await stat(source)).isDirectory() ? source : dirname(source);
  const tokJson = (await stat(source)).isDirectory() ? join(source, 'tokenizer.json') : source;
  const tok = JSON.parse(await readFile(tokJson, 'utf8')) as { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number }[] };
  const ids = [...Object.values(tok.model?.vocab ?? {}), ...(tok.added_tokens ?? []).map((t) => t.id)];
  const maxId = ids.reduce((a, b) => Math.max(a, b), -1);
  if (maxId >= config.vocabSize) throw new Error(`${tokJson}: token id ${maxId} does not fit vocab_size ${config.vocabSize}`);
  await copyFile(tokJson, join(dir, 'tokenizer.json'));
  for (const f of TOKENIZER_FILES.slice(1)) {
    await copyFile(join(srcDir, f), join(dir, f)).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
  }
}

/**
 * Write a random Qwen2 checkpoint to `dir` as an HF model directory: config.json,
 * generation_config.json, model.safetensors (or shards + index) and, if given, the tokenizer.
 * Returns the directory.
 */
export async function createRandomCheckpoint(dir: string, config: ModelConfig, opts: RandomCheckpointOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  if (opts.tokenizer) await copyTokenizer(opts.tokenizer, dir, config);
  const weights = randomWeights(config, opts);
  await writeSafetensors(join(dir, 'model.safetensors'), weights, {}, { maxShardBytes: opts.maxShardBytes });
  const generation = { bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId };
  await writeFileAtomic(join(dir, 'generation_config.json'), JSON.stringify(generation, null, 2) + '\n');
  await writeConfig(dir, config);
  return dir;
}
