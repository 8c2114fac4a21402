// Math datasets: load rows, map columns, apply the prompt template, filter long prompts, shuffle by seed, epochs.
import { basename } from 'node:path';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import type { Tokenizer } from '../tokenizer/index.js';
import { column, type ColumnMap } from './columns.js';
import { expandPaths, readRows, type DataFormat } from './rows.js';
import { resolveTemplate, type TemplateSpec } from './templates.js';

/** One problem, ready for rollout. */
export interface Example {
  id: string;
  dataSource: string;
  problem: string;
  /** Ground-truth answer. */
  answer: string;
  /** The templated prompt text. */
  prompt: string;
  /** The prompt's token ids (when a tokenizer was given): the rollout starts from these, never re-tokenising. */
  promptTokenIds?: number[];
  /** Where the row came from. */
  source: { file: string; row: number };
}

export interface LoadDatasetOptions {
  /** File format; by default from each file's extension. */
  format?: DataFormat;
  /** Where the fields are; defaults cover flat jsonl and the veRL/ToRL parquet layout. */
  columns?: ColumnMap;
  /** Prompt template (default "tir_base_0309", as ToRL). */
  template?: TemplateSpec;
  /** Drop examples whose templated prompt is longer than this many tokens (needs `tokenizer`), as ToRL's max_prompt_length. */
  maxPromptTokens?: number;
  tokenizer?: Tokenizer;
}

/** A batch of examples within an epoch. */
export interface Batch {
  epoch: number;
  /** Batch index within the epoch. */
  index: number;
  examples: Example[];
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle seed; each epoch uses its own independent permutation. */
  seed: number;
  epochs?: number;
  /** Drop the last incomplete batch of each epoch (default true, as veRL's train loader). */
  dropLast?: boolean;
  /** Keep file order instead of shuffling. */
  shuffle?: boolean;
}

/** Deterministic Fisher-Yates permutation of 0..n-1 for (seed, epoch). */
export function permutation(n: number, seed: number, epoch = 0): number[] {
  const rng = xoroshiro128plus(seed);
  for (let e = 0; e < epoch; e++) rng.jump();
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [p[i], p[j]] = [p[j] as number, p[i] as number];
  }
  return p;
}

/** A loaded dataset: examples in file order plus what was filtered out. */
export class Dataset {
  readonly examples: readonly Example[];
  /** Examples dropped for exceeding maxPromptTokens. */
  readonly filtered: readonly Example[];

  constructor(examples: Example[], filtered: Example[] = []) {
    this.examples = examples;
    this.filtered = filtered;
  }

  get size(): number {
    return this.examples.length;
  }

  /** The examples in the order of (seed, epoch). */
  shuffled(seed: number, epoch = 0): Example[] {
    return permutation(this.examples.length, seed, epoch).map((i) => this.examples[i] as Example);
  }

  /** Batches over `epochs` epochs, each epoch reshuffled. */
  *batches(opts: BatchOptions): Generator<Batch> {
    const { batchSize, seed, epochs = 1, dropLast = true, shuffle = true } = opts;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
    if (dropLast && batchSize > this.size) throw new Error(`batches: batchSize ${batchSize} exceeds the dataset's ${this.size} examples (dropLast would yield nothing)`);
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = shuffle ? this.shuffled(seed, epoch) : [...this.examples];
      for (let index = 0, at = 0; at < order.length; index++, at += batchSize) {
        const examples = order.slice(at, at + batchSize);
        if (examples.length < batchSize && dropLast) break;
        yield { epoch, index, examples };
      }
    }
  }
}

/**
 * Load a math dataset from parquet / jsonl / json files (a path, a directory, a `*` glob, or a list):
 * map columns, apply the prompt template, and drop prompts longer than maxPromptTokens.
 */
export async function loadDataset(pathOrGlob: string | readonly string[], opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const { columns = {}, maxPromptTokens, tokenizer } = opts;
  if (maxPromptTokens !== undefined && !tokenizer) throw new Error('loadDataset: maxPromptTokens needs a tokenizer');
  const template = resolveTemplate(opts.template ?? 'tir_base_0309', tokenizer);
  const kept: Example[] = [];
  const filtered: Example[] = [];
  for (const file of await expandPaths(pathOrGlob)) {
    const rows = await readRows(file, opts.format);
    rows.forEach((row, i) => {
      const need = (key: 'problem' | 'answer'): string => {
        const { text, tried } = column(row, key, columns);
        if (text === undefined) throw new Error(`${file}: row ${i}: no ${key} (looked at ${tried.map((p) => `"${p}"`).join(', ')}; set columns.${key})`);
        return text;
      };
      const problem = need('problem');
      const prompt = template(problem);
      const ex: Example = {
        id: column(row, 'id', columns).text ?? `${basename(file)}#${i}`,
        dataSource: column(row, 'dataSource', columns).text ?? basename(file),
        problem,
        answer: need('answer'),
        prompt,
        source: { file, row: i },
      };
      if (tokenizer) ex.promptTokenIds = tokenizer.encode(prompt);
      (maxPromptTokens !== undefined && (ex.promptTokenIds?.length ?? 0) > maxPromptTokens ? filtered : kept).push(ex);
    });
  }
  return new Dataset(kept, filtered);
}
