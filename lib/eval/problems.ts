// The problems of an eval: shipped benchmarks by name and any jsonl / parquet / json files with
// problem and answer columns, templated and tokenized once, each with a stable key (its file and
// row) that the dump and the resume go by.
import { basename, resolve } from 'node:path';
import { loadDataset, type ColumnMap, type Example, type TemplateSpec } from '../data/index.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { benchmarkFile } from './benchmarks.js';
import type { ProblemRef } from './records.js';

export interface EvalProblem extends ProblemRef {
  promptTokenIds: number[];
}

export interface ProblemSources {
  /** Shipped benchmarks by name. */
  benchmarks: readonly string[];
  /** Other test sets: paths, directories or globs (grouped by their rows' data_source, else file name). */
  data: readonly string[];
  columns?: ColumnMap;
  template: TemplateSpec;
  tokenizer: Tokenizer;
  /** The first `limit` problems of each benchmark and of each data argument. */
  limit?: number;
}

/** Every problem, benchmarks first (in the order given), then data files. */
export async function loadProblems(s: ProblemSources): Promise<EvalProblem[]> {
  const out: EvalProblem[] = [];
  const seen = new Map<string, string>();
  const load = async (what: string, path: string, columns: ColumnMap | undefined): Promise<Example[]> => {
    let ds;
    try {
      ds = await loadDataset(path, { template: s.template, tokenizer: s.tokenizer, ...(columns ? { columns } : {}) });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`${what}: ${err.code === 'ENOENT' ? `${path}: no such file or directory` : err.message}`);
    }
    if (ds.size === 0) throw new Error(`${what}: ${path}: no problems in it`);
    return (ds.examples as Example[]).slice(0, s.limit);
  };
  for (const name of s.benchmarks) {
    for (const e of await load(`benchmark ${name}`, benchmarkFile(name), undefined)) {
      out.push({ key: `${name}:${e.source.row}`, benchmark: name, id: e.id, prompt: e.prompt, answer: e.answer, promptTokenIds: e.promptTokenIds! });
    }
  }
  for (const path of s.data) {
    for (const e of await load('data', path, s.columns)) {
      const file = basename(e.source.file);
      const other = seen.get(file);
      if (other !== undefined && other !== resolve(e.source.file)) throw new Error(`data: two files are named ${file} (${other}, ${resolve(e.source.file)}); the dump tells problems apart by file name and row, so rename one`);
      seen.set(file, resolve(e.source.file));
      out.push({ key: `${file}:${e.source.row}`, benchmark: e.dataSource, id: e.id, prompt: e.prompt, answer: e.answer, promptTokenIds: e.promptTokenIds! });
    }
  }
  const keys = new Set<string>();
  for (const p of out) {
    if (keys.has(p.key)) throw new Error(`problem ${p.key} is given twice (the same benchmark or file named twice)`);
    keys.add(p.key);
  }
  return out;
}
