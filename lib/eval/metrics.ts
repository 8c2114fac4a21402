// The figures of an eval, from its per-sample records: per benchmark, accuracy (the mean verdict
// over every sample), pass@k (the unbiased estimator of Chen et al. 2021), response length, tool
// use; over benchmarks, the unweighted mean (ToRL's val/test_score/avg_acc).
import type { EvalRecord } from './records.js';

export interface BenchmarkMetrics {
  problems: number;
  samples: number;
  /** Mean verdict over all samples (pass@1; with one greedy sample, the paper's accuracy). */
  accuracy: number;
  /** pass@k for k = 1, 2, 4, … up to the samples per problem (and that number itself). */
  passAtK: Record<string, number>;
  /** Response tokens (model and tool-output tokens), mean over samples, and over the correct ones (null when none). */
  responseLength: number;
  responseLengthCorrect: number | null;
  /** Share of samples with at least one tool call; failed calls over calls; calls per sample. */
  toolCallRate: number;
  toolErrorRate: number;
  toolCallsPerResponse: number;
  /** Share of samples without a \boxed{} answer, and of samples cut at the length limit. */
  noAnswerRate: number;
  truncatedRate: number;
}

export interface EvalMetrics {
  benchmarks: Record<string, BenchmarkMetrics>;
  /** Unweighted means over benchmarks. */
  average: { accuracy: number; passAtK: Record<string, number> };
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);

/** The unbiased pass@k of a problem with n samples of which c are correct: 1 − C(n−c, k) / C(n, k). */
export function passAtK(n: number, c: number, k: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(c) && Number.isInteger(k)) || k < 1 || k > n || c < 0 || c > n) {
    throw new Error(`passAtK: need integers 0 ≤ c ≤ n and 1 ≤ k ≤ n, got n=${n} c=${c} k=${k}`);
  }
  if (n - c < k) return 1;
  let miss = 1; // C(n−c, k) / C(n, k) as a product, never forming the binomials
  for (let i = n - c + 1; i <= n; i++) miss *= 1 - k / i;
  return 1 - miss;
}

/** The ks reported for `samples` samples per problem: powers of two below it, and itself. */
export function reportedKs(samples: number): number[] {
  const ks: number[] = [];
  for (let k = 1; k < samples; k *= 2) ks.push(k);
  ks.push(samples);
  return ks;
}

/** Figures of one benchmark's records (every problem with the same number of samples). */
export function benchmarkMetrics(records: readonly EvalRecord[]): BenchmarkMetrics {
  const byProblem = new Map<string, EvalRecord[]>();
  for (const r of records) byProblem.set(r.key, [...(byProblem.get(r.key) ?? []), r]);
  const sizes = new Set([...byProblem.values()].map((g) => g.length));
  if (sizes.size > 1) throw new Error(`benchmarkMetrics: problems have different sample counts (${[...sizes].join(', ')})`);
  const k = [...sizes][0] ?? 0;
  const passAt: Record<string, number> = {};
  if (k > 0) for (const kk of reportedKs(k)) passAt[kk] = mean([...byProblem.values()].map((g) => passAtK(g.length, g.filter((r) => r.correct).length, kk)));
  const calls = records.reduce((a, r) => a + r.toolCalls.length, 0);
  const errors = records.reduce((a, r) => a + r.toolErrors, 0);
  const correct = records.filter((r) => r.correct);
  return {
    problems: byProblem.size,
    samples: records.length,
    accuracy: mean(records.map((r) => (r.correct ? 1 : 0))),
    passAtK: passAt,
    responseLength: mean(records.map((r) => r.responseTokens)),
    responseLengthCorrect: correct.length ? mean(correct.map((r) => r.responseTokens)) : null,
    toolCallRate: mean(records.map((r) => (r.toolCalls.length > 0 ? 1 : 0))),
    toolErrorRate: calls ? errors / calls : 0,
    toolCallsPerResponse: records.length ? calls / records.length : 0,
    noAnswerRate: mean(records.map((r) => (r.answer === null ? 1 : 0))),
    truncatedRate: mean(records.map((r) => (r.finishReason === 'length' ? 1 : 0))),
  };
}

/** Per-benchmark figures (in the order of `order`, then any other benchmark by name) and their unweighted means. */
export function evalMetrics(records: readonly EvalRecord[], order: readonly string[] = []): EvalMetrics {
  const groups = new Map<string, EvalRecord[]>();
  for (const r of records) groups.set(r.benchmark, [...(groups.get(r.benchmark) ?? []), r]);
  const names = [...order.filter((n) => groups.has(n)), ...[...groups.keys()].filter((n) => !order.includes(n)).sort()];
  const benchmarks: Record<string, BenchmarkMetrics> = {};
  for (const n of names) benchmarks[n] = benchmarkMetrics(groups.get(n)!);
  const all = Object.values(benchmarks);
  const ks = new Set(all.flatMap((m) => Object.keys(m.passAtK)));
  const passAt: Record<string, number> = {};
  for (const k of ks) if (all.every((m) => k in m.passAtK)) passAt[k] = mean(all.map((m) => m.passAtK[k]!));
  return { benchmarks, average: { accuracy: mean(all.map((m) => m.accuracy)), passAtK: passAt } };
}
