// Dev script: write a seeded random Qwen2 checkpoint as an HF model directory.
//   npx tsx scripts/make-random-checkpoint.ts <dir> [--seed N] [--config config.json | --hidden 64 --layers 2 --heads 4 --kv-heads 2 --intermediate 256 --vocab 151936]
//     [--dtype bf16|f16|f32] [--tokenizer path/to/tokenizer.json-or-dir] [--max-shard-bytes N]
import { parseArgs } from 'node:util';
import { createRandomCheckpoint, loadConfig, qwen2Config } from '../lib/model/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string', default: '0' },
    config: { type: 'string' },
    hidden: { type: 'string' },
    layers: { type: 'string' },
    heads: { type: 'string' },
    'kv-heads': { type: 'string' },
    intermediate: { type: 'string' },
    vocab: { type: 'string' },
    dtype: { type: 'string' },
    tokenizer: { type: 'string' },
    'max-shard-bytes': { type: 'string' },
  },
});
const dir = positionals[0];
if (!dir) {
  console.error('usage: npx tsx scripts/make-random-checkpoint.ts <dir> [--seed N] [--config config.json | --hidden … --layers … --heads … --kv-heads … --intermediate … --vocab …] [--dtype bf16|f16|f32] [--tokenizer path] [--max-shard-bytes N]');
  process.exit(2);
}
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const sizes = Object.fromEntries(Object.entries({
  hiddenSize: num(values.hidden), numHiddenLayers: num(values.layers), numAttentionHeads: num(values.heads),
  numKeyValueHeads: num(values['kv-heads']), intermediateSize: num(values.intermediate), vocabSize: num(values.vocab),
}).filter(([, v]) => v !== undefined));
const config = values.config ? await loadConfig(values.config) : qwen2Config(sizes);
const dtype = values.dtype as 'bf16' | 'f16' | 'f32' | undefined;
if (dtype && !['bf16', 'f16', 'f32'].includes(dtype)) throw new Error(`--dtype must be bf16, f16 or f32, got ${dtype}`);
const t0 = performance.now();
await createRandomCheckpoint(dir, config, {
  seed: Number(values.seed), dtype, tokenizer: values.tokenizer, maxShardBytes: num(values['max-shard-bytes']),
});
console.log(`wrote ${dir} (hidden ${config.hiddenSize}, ${config.numHiddenLayers} layers, vocab ${config.vocabSize}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
