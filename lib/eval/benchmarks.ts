// The benchmarks shipped with torl (lib/eval/data, see its SOURCE.md) and the paper's figures on them.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the benchmark files live (the same path from lib/eval and from dist/eval). */
export const BENCHMARK_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'eval', 'data');

/** The five benchmarks of the ToRL paper, in its table's order; what an eval runs by default. */
export const PAPER_BENCHMARKS = ['aime24', 'aime25', 'math500', 'olympiadbench', 'amc23'] as const;

/** Every shipped benchmark: the paper's five and ToRL's validation subset of MATH500 (its 134 level-5 problems). */
export const BENCHMARKS = [...PAPER_BENCHMARKS, 'math500_level5'] as const;

export type BenchmarkName = (typeof BENCHMARKS)[number];

/** Display names, as the paper's table heads its columns. */
export const BENCHMARK_TITLES: Readonly<Record<string, string>> = {
  aime24: 'AIME24',
  aime25: 'AIME25',
  math500: 'MATH500',
  olympiadbench: 'OlympiadBench',
  amc23: 'AMC23',
  math500_level5: 'MATH500-L5',
};

/** The paper's Table 1 (greedy, C = 1), accuracy in %. */
export const PAPER_RESULTS: Readonly<Record<string, Readonly<Record<(typeof PAPER_BENCHMARKS)[number] | 'average', number>>>> = {
  'ToRL-1.5B': { aime24: 26.7, aime25: 26.7, math500: 77.8, olympiadbench: 44.0, amc23: 67.5, average: 48.5 },
  'ToRL-7B': { aime24: 43.3, aime25: 30.0, math500: 82.2, olympiadbench: 49.9, amc23: 75.0, average: 62.1 },
};

/** The file of a shipped benchmark; an unknown name is an error that lists the known ones. */
export function benchmarkFile(name: string): string {
  if (!(BENCHMARKS as readonly string[]).includes(name)) {
    throw new Error(`unknown benchmark '${name}' (known: ${BENCHMARKS.join(', ')}; other test sets: pass their jsonl/parquet files as data)`);
  }
  return join(BENCHMARK_DIR, `${name}.jsonl`);
}
