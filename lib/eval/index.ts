// Benchmark evaluation (AIME24/25, MATH500, OlympiadBench, AMC23): the paper's protocol, pass@k, dumps that resume.
export { evaluate, type EvaluateOptions, type EvalProtocol, type EvalResult } from './evaluate.js';
export { BENCHMARKS, BENCHMARK_DIR, BENCHMARK_TITLES, PAPER_BENCHMARKS, PAPER_RESULTS, benchmarkFile, type BenchmarkName } from './benchmarks.js';
export { benchmarkMetrics, evalMetrics, passAtK, type BenchmarkMetrics, type EvalMetrics } from './metrics.js';
export { completeProblems, readRecords, type EvalRecord } from './records.js';
export { regrade } from './regrade.js';
export { formatDetails, formatTable } from './table.js';
