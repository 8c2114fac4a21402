// The demo's tiny base model, made by torl itself: a corpus of ToRL-format solutions, a byte-level BPE
// learned from it, a ~1M-parameter Qwen2 pretrained on it with cross-entropy, saved as an HF directory
// (config.json, model.safetensors, tokenizer files) in a cache folder keyed by the recipe, built in a
// temporary folder and renamed into place, so a second call finds it complete or not at all.
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Model, qwen2Config } from '../model/index.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { buildCorpus, docText, tokenizeDoc, type CorpusOptions } from './corpus.js';
import { pretrain, type PretrainOptions } from './pretrain.js';
import { writeDemoTokenizer, type BpeOptions } from './tokenizer.js';

export interface DemoModelShape {
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
}

/** Everything that decides the base model (its hash names the cache folder). */
export interface DemoRecipe {
  corpus: Omit<CorpusOptions, 'seed'>;
  bpe: BpeOptions;
  model: DemoModelShape;
  pretrain: Omit<PretrainOptions, 'seed' | 'onStep'>;
}

export const DEMO_RECIPE: DemoRecipe = {
  corpus: { size: 12000, toolShare: 0.2, retryShare: 0.15, easyShare: 0.3 },
  bpe: { maxMerges: 256, minCount: 8 },
  model: { hiddenSize: 128, intermediateSize: 384, numHiddenLayers: 4, numAttentionHeads: 4, numKeyValueHeads: 2 },
  pretrain: { steps: 600, batchTokens: 4096, lr: 3e-3, warmupSteps: 30, minLrRatio: 0.1 },
};

/** Bumped when the code that builds the model changes what it builds. */
export const DEMO_RECIPE_VERSION = 1;

export type DemoProgress =
  | { phase: 'corpus' | 'tokenizer' | 'save'; }
  | { phase: 'pretrain'; step: number; steps: number; loss: number };

export interface BuildOptions {
  seed?: number;
  recipe?: DemoRecipe;
  onProgress?: (p: DemoProgress) => void;
}

export interface EnsureOptions extends BuildOptions {
  /** Default $TORL_CACHE, else ~/.cache/torl. */
  cacheDir?: string;
}

/** The cache folder: $TORL_CACHE, else ~/.cache/torl. */
export function defaultCacheDir(): string {
  return process.env.TORL_CACHE || join(homedir(), '.cache', 'torl');
}

/** The cache subfolder name of a recipe and seed. */
export function recipeKey(recipe: DemoRecipe, seed: number): string {
  const hash = createHash('sha256').update(JSON.stringify({ version: DEMO_RECIPE_VERSION, recipe, seed })).digest('hex').slice(0, 12);
  return `demo-base-v${DEMO_RECIPE_VERSION}-${hash}`;
}

/** Build the base model into `dir` (an HF model directory); returns the pretraining losses. */
export async function buildDemoBaseModel(dir: string, opts: BuildOptions = {}): Promise<number[]> {
  const { seed = 0, recipe = DEMO_RECIPE, onProgress } = opts;
  onProgress?.({ phase: 'corpus' });
  const docs = buildCorpus({ ...recipe.corpus, seed });
  onProgress?.({ phase: 'tokenizer' });
  await writeDemoTokenizer(dir, docs.map(docText), recipe.bpe);
  const tok = await loadTokenizer(dir);
  const train = docs.map((d) => tokenizeDoc(tok, d));
  const longest = train.reduce((a, d) => Math.max(a, d.tokens.length), 0);
  const config = qwen2Config({
    ...recipe.model,
    headDim: recipe.model.hiddenSize / recipe.model.numAttentionHeads,
    vocabSize: tok.vocabSize, // exactly: the engine samples from every row, and an id past the tokenizer's has no text
    bosTokenId: tok.eosTokenId!,
    eosTokenId: tok.eosTokenId!,
    maxPositionEmbeddings: 1024,
    torchDtype: 'float32',
  });
  if (longest > config.maxPositionEmbeddings) throw new Error(`demo base model: a corpus document has ${longest} tokens, past max_position_embeddings ${config.maxPositionEmbeddings}`);
  const model = Model.random(config, { seed, std: 0.02 });
  const losses = await pretrain(model, train, {
    ...recipe.pretrain,
    seed,
    onStep: (step, steps, loss) => onProgress?.({ phase: 'pretrain', step, steps, loss }),
  });
  onProgress?.({ phase: 'save' });
  await model.save(dir, { dtype: 'f32' });
  await writeFile(join(dir, 'generation_config.json'), JSON.stringify({ bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId }, null, 2) + '\n');
  return losses;
}

const exists = (p: string) => access(p).then(() => true, () => false);

/**
 * The demo base model's directory, built on first use (well under 3 minutes on 2 cores) and
 * reused after: `cached` says which.
 */
export async function ensureDemoBaseModel(opts: EnsureOptions = {}): Promise<{ dir: string; cached: boolean; seconds: number }> {
  const t0 = performance.now();
  const { seed = 0, recipe = DEMO_RECIPE } = opts;
  const root = opts.cacheDir ?? defaultCacheDir();
  const dir = join(root, recipeKey(recipe, seed));
  const seconds = () => (performance.now() - t0) / 1000;
  if (await exists(join(dir, 'recipe.json'))) return { dir, cached: true, seconds: seconds() };
  await mkdir(root, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await mkdir(tmp);
    const losses = await buildDemoBaseModel(tmp, { seed, recipe, onProgress: opts.onProgress });
    const first = losses[0] ?? NaN, last = losses[losses.length - 1] ?? NaN;
    await writeFile(join(tmp, 'recipe.json'), JSON.stringify({ version: DEMO_RECIPE_VERSION, seed, recipe, loss: { first, last }, buildSeconds: seconds() }, null, 2) + '\n');
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // another process finished the same recipe first: its copy is as good as ours
      if ((e.code === 'ENOTEMPTY' || e.code === 'EEXIST') && (await exists(join(dir, 'recipe.json')))) return;
      throw new Error(`demo base model: cannot move ${tmp} to ${dir}: ${e.message}`);
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir, cached: false, seconds: seconds() };
}
