// The printed results: a table like the paper's (accuracy in %, benchmarks as columns, the
// paper's ToRL rows above this run's), then one line of details per benchmark.
import { BENCHMARK_TITLES, PAPER_RESULTS } from './benchmarks.js';
import type { EvalMetrics } from './metrics.js';

function render(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd()).join('\n');
}

const pct = (x: number | undefined): string => (x === undefined ? '–' : (100 * x).toFixed(1));

/** The paper-style table: the paper's ToRL rows (where `paper`), and this run's row labelled `label`. */
export function formatTable(m: EvalMetrics, label: string, paper = true): string {
  const names = Object.keys(m.benchmarks);
  const head = ['', ...names.map((n) => BENCHMARK_TITLES[n] ?? n), 'Avg'];
  const rows = [head];
  if (paper) {
    for (const [model, r] of Object.entries(PAPER_RESULTS)) {
      const cells = names.map((n) => (n in r ? (r as Record<string, number>)[n]!.toFixed(1) : '–'));
      rows.push([`${model} (paper)`, ...cells, r.average.toFixed(1)]);
    }
  }
  rows.push([label, ...names.map((n) => pct(m.benchmarks[n]!.accuracy)), pct(m.average.accuracy)]);
  const k = Object.keys(m.average.passAtK).map(Number).filter((x) => x > 1);
  for (const kk of k) rows.push([`${label} pass@${kk}`, ...names.map((n) => pct(m.benchmarks[n]!.passAtK[kk])), pct(m.average.passAtK[kk])]);
  return render(rows);
}

/** Per benchmark: problems × samples, accuracy, mean response length, tool-call and tool-error rates, no-answer and truncated shares. */
export function formatDetails(m: EvalMetrics): string {
  const rows = [['benchmark', 'problems', 'samples', 'acc %', 'len', 'len ok', 'tool %', 'tool err %', 'no answer %', 'cut %']];
  for (const [n, b] of Object.entries(m.benchmarks)) {
    rows.push([n, String(b.problems), String(b.samples), pct(b.accuracy), b.responseLength.toFixed(0), b.responseLengthCorrect === null ? '–' : b.responseLengthCorrect.toFixed(0), pct(b.toolCallRate), pct(b.toolErrorRate), pct(b.noAnswerRate), pct(b.truncatedRate)]);
  }
  return render(rows);
}
