// The demo's task: seeded synthetic problems a tiny model cannot do in its head but can do with one
// line of Python (multi-digit products, large powers modulo m, sums of long lists), each with an easy
// regime a tiny model can compute by copying (×10ⁿ, ^0/^1, place-value sums); train and test splits
// with no problem in common (nor with the pretraining corpus), written as jsonl files (problem, answer, data_source) for loadDataset.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from './rng.js';

export const DEMO_KINDS = ['mul', 'powmod', 'sum'] as const;
export type DemoKind = (typeof DEMO_KINDS)[number];
export type DemoLevel = 'easy' | 'hard';

export interface DemoProblem {
  kind: DemoKind;
  level: DemoLevel;
  /** The problem statement, e.g. "Compute 4821*937." */
  problem: string;
  /** The exact integer answer, as Python prints it. */
  answer: string;
  /** The problem's expression restated in prose, e.g. "4821*937". */
  expression: string;
  /** A correct one-line Python program printing the answer. */
  code: string;
}

/** A jsonl row of the task files: what loadDataset reads (problem, answer, data_source) plus id and level. */
export interface DemoRow {
  id: string;
  problem: string;
  answer: string;
  data_source: DemoKind;
  level: DemoLevel;
}

export interface DemoSplitOptions {
  seed?: number;
  /** Problems in the train split. Default 2000. */
  train?: number;
  /** Problems in the test split. Default 200. */
  test?: number;
  /** Share of easy problems in both splits. Default 0.15. */
  easyShare?: number;
}

/** base^exp mod m by square-and-multiply over BigInt. */
export function powMod(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n % m;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

function mul(rng: Rng, level: DemoLevel): DemoProblem {
  const a = level === 'easy' ? rng.int(2, 9999) : rng.int(100, 9999);
  const b = level === 'easy' ? rng.pick([10, 100, 1000]) : rng.int(13, 999);
  const expression = `${a}*${b}`;
  return { kind: 'mul', level, problem: `Compute ${expression}.`, answer: (BigInt(a) * BigInt(b)).toString(), expression, code: `print(${a}*${b})` };
}

function powmod(rng: Rng, level: DemoLevel): DemoProblem {
  const m = level === 'easy' ? rng.int(11, 99) : rng.int(11, 997);
  const a = level === 'easy' ? rng.int(2, m - 1) : rng.int(2, 99);
  const e = level === 'easy' ? rng.int(0, 1) : rng.int(20, 999);
  const expression = `${a}^${e} mod ${m}`;
  return { kind: 'powmod', level, problem: `Compute ${expression}.`, answer: powMod(BigInt(a), BigInt(e), BigInt(m)).toString(), expression, code: `print(pow(${a},${e},${m}))` };
}

function sum(rng: Rng, level: DemoLevel): DemoProblem {
  let xs: number[];
  if (level === 'easy') {
    // place values: 500, 70, 3 (descending powers of ten, one non-zero digit each) add up to 573
    const top = rng.int(1, 3);
    xs = [];
    for (let p = top; p >= 0; p--) xs.push(rng.int(1, 9) * 10 ** p);
  } else {
    xs = Array.from({ length: rng.int(5, 8) }, () => rng.int(10, 999));
  }
  const list = xs.join(', ');
  return { kind: 'sum', level, problem: `Add up ${list}.`, answer: xs.reduce((s, x) => s + BigInt(x), 0n).toString(), expression: xs.join('+'), code: `print(sum([${list}]))` };
}

const MAKERS: Record<DemoKind, (rng: Rng, level: DemoLevel) => DemoProblem> = { mul, powmod, sum };

/** One random problem of a random kind; easy with probability easyShare. */
export function randomProblem(rng: Rng, easyShare: number): DemoProblem {
  return MAKERS[rng.pick(DEMO_KINDS)](rng, rng.chance(easyShare) ? 'easy' : 'hard');
}

export type DemoSplit = 'train' | 'test';

/** Which split a problem statement belongs to, fixed by its hash (1 in 8 are test problems): the test
 *  split, the train split and the pretraining corpus are disjoint whatever their seeds and sizes. */
export function problemSplit(problem: string): DemoSplit {
  let h = 0x811c9dc5; // FNV-1a, 32 bit
  for (let i = 0; i < problem.length; i++) h = Math.imul(h ^ problem.charCodeAt(i), 0x01000193) >>> 0;
  return h % 8 === 0 ? 'test' : 'train';
}

/** `count` distinct problems of one split. */
export function distinctProblems(rng: Rng, count: number, easyShare: number, split: DemoSplit): DemoProblem[] {
  const seen = new Set<string>();
  const out: DemoProblem[] = [];
  for (let tries = 0; out.length < count; tries++) {
    if (tries > 100 * count + 1000) throw new Error(`demo task: could not draw ${count} distinct ${split} problems (got ${out.length})`);
    const p = randomProblem(rng, easyShare);
    if (seen.has(p.problem) || problemSplit(p.problem) !== split) continue;
    seen.add(p.problem);
    out.push(p);
  }
  return out;
}

/** The train and test splits (disjoint: see problemSplit). */
export function demoSplits(opts: DemoSplitOptions = {}): { train: DemoProblem[]; test: DemoProblem[] } {
  const { seed = 0, train = 2000, test = 200, easyShare = 0.15 } = opts;
  for (const [name, v] of [['train', train], ['test', test]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`demoSplits: ${name} must be a positive integer, got ${v}`);
  }
  if (!(easyShare >= 0 && easyShare <= 1)) throw new Error(`demoSplits: easyShare must be in [0, 1], got ${easyShare}`);
  const rng = new Rng(seed);
  return { train: distinctProblems(rng, train, easyShare, 'train'), test: distinctProblems(rng, test, easyShare, 'test') };
}

/** The jsonl row of a problem. */
export function demoRow(p: DemoProblem, id: string): DemoRow {
  return { id, problem: p.problem, answer: p.answer, data_source: p.kind, level: p.level };
}

/** Write `dir/train.jsonl` and `dir/test.jsonl`; returns their paths. */
export async function writeDemoTask(dir: string, opts: DemoSplitOptions = {}): Promise<{ train: string; test: string }> {
  const splits = demoSplits(opts);
  await mkdir(dir, { recursive: true });
  const paths = { train: join(dir, 'train.jsonl'), test: join(dir, 'test.jsonl') };
  for (const split of ['train', 'test'] as const) {
    const lines = splits[split].map((p, i) => JSON.stringify(demoRow(p, `${split}-${i}`)));
    await writeFile(paths[split], lines.join('\n') + '\n');
  }
  return paths;
}
