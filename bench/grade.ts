// Grades per second of torl.reward.torlReward on MATH500-style responses, beside a reference
// measured in the same run: the string-normalised exact match of the MATH benchmark
// (Hendrycks et al.'s strip_string / is_equiv, ported to TypeScript here; and the Python
// original's logic through python3 when present).
//
//   npm run bench -- grade [--rounds N]
//
// Workload: for each of the 500 MATH500 gold answers, three boxed responses: the gold
// verbatim, the gold rewritten in an equivalent form (\dfrac, \left( \right), spaces,
// $…$, x = …, decimals for simple fractions, a√b as √(a²b), aπ as π·a), and another
// problem's gold (wrong).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractAnswer, shutdownGrader, torlReward } from '../lib/reward/index.js';
import { symbolicRuns } from '../lib/reward/pool.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;

interface Item {
  kind: 'verbatim' | 'rewritten' | 'wrong';
  response: string;
  gold: string;
  /** The expected verdict (for 'wrong', unless the two golds happen to be the same). */
  equal: boolean;
}

function loadGolds(): string[] {
  const file = join(root, '../shared/data/benchmarks/math500.jsonl');
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => String((JSON.parse(l) as { answer: unknown }).answer));
}

/** An equivalent spelling of a gold answer, as a model might write it. */
function rewrite(gold: string): string {
  const simple = /^\\frac\{(\d+)\}\{(2|4|5|8|10|20|25)\}$/.exec(gold);
  if (simple) return String(Number(simple[1]) / Number(simple[2]));
  if (/^-?\d+$/.test(gold)) return `x = ${gold}`;
  const radical = /^(\d+) ?\\sqrt\{?(\d+)\}?$/.exec(gold);
  if (radical) return `\\sqrt{${Number(radical[1]) ** 2 * Number(radical[2])}}`;
  const pi = /^(\d+) ?\\pi$/.exec(gold);
  if (pi) return `\\pi \\cdot ${pi[1]}`;
  return gold
    .replace(/\\frac/g, '\\dfrac')
    .replace(/^\((.*)\)$/, '\\left( $1 \\right)')
    .replace(/,\s*/g, ', ');
}

function workload(golds: string[]): Item[] {
  const items: Item[] = [];
  golds.forEach((gold, i) => {
    const other = golds[(i + 7) % golds.length]!;
    const box = (a: string) => `Let me compute this step by step.\n\nTherefore, the final answer is $\\boxed{${a}}$.`;
    items.push({ kind: 'verbatim', response: box(gold), gold, equal: true });
    items.push({ kind: 'rewritten', response: box(rewrite(gold)), gold, equal: true });
    items.push({ kind: 'wrong', response: box(other), gold, equal: other.replace(/\s/g, '') === gold.replace(/\s/g, '') });
  });
  return items;
}

// ---- reference: the MATH benchmark's string normalisation (Hendrycks et al., is_equiv) ----

function fixFracs(s: string): string {
  const parts = s.split('\\frac');
  let out = parts[0]!;
  for (const part of parts.slice(1)) {
    out += '\\frac';
    if (part.startsWith('{') || part.length < 2) out += part;
    else {
      const [a, b] = [part[0]!, part[1]!];
      out += b === '{' ? `{${a}}${part.slice(1)}` : `{${a}}{${b}}${part.slice(2)}`;
    }
  }
  return out;
}

function fixSqrt(s: string): string {
  return s.replace(/\\sqrt(\w)/g, '\\sqrt{$1}');
}

function fixSlash(s: string): string {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  return m ? `\\frac{${m[1]}}{${m[2]}}` : s;
}

function stripString(input: string): string {
  let s = input.replace(/\n/g, '').replace(/\\!/g, '').replace(/\\\\/g, '\\');
  s = s.replace(/tfrac/g, 'frac').replace(/dfrac/g, 'frac').replace(/\\left/g, '').replace(/\\right/g, '');
  s = s.replace(/\^\{\\circ\}/g, '').replace(/\^\\circ/g, '').replace(/\\\$/g, '');
  if (s.includes('\\text{ ')) s = s.split('\\text{ ')[0]!;
  s = s.replace(/\\%/g, '').replace(/%/g, '').replace(/ \./g, ' 0.').replace(/\{\./g, '{0.');
  if (s.length === 0) return s;
  if (s[0] === '.') s = `0${s}`;
  const eq = s.split('=');
  if (eq.length === 2 && eq[0]!.length <= 2) s = eq[1]!;
  s = fixSqrt(s).replace(/ /g, '');
  s = fixFracs(s);
  if (s === '0.5') s = '\\frac{1}{2}';
  return fixSlash(s);
}

/** The reference grader: last box (same extraction), then strip_string equality. */
function referenceGrade(response: string, gold: string): number {
  const answer = extractAnswer(response);
  return answer !== null && stripString(answer) === stripString(gold) ? 1 : -1;
}

const PYTHON_REFERENCE = String.raw`
import json, re, sys, time
def fix_fracs(s):
    parts = s.split("\\frac"); out = parts[0]
    for p in parts[1:]:
        out += "\\frac"
        if p.startswith("{") or len(p) < 2: out += p
        else:
            a, b = p[0], p[1]
            out += ("{" + a + "}" + p[1:]) if b == "{" else ("{" + a + "}{" + b + "}" + p[2:])
    return out
def strip_string(s):
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac").replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "")
    if "\\text{ " in s: s = s.split("\\text{ ")[0]
    s = s.replace("\\%", "").replace("%", "").replace(" .", " 0.").replace("{.", "{0.")
    if len(s) == 0: return s
    if s[0] == ".": s = "0" + s
    if len(s.split("=")) == 2 and len(s.split("=")[0]) <= 2: s = s.split("=")[1]
    s = re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", s).replace(" ", "")
    s = fix_fracs(s)
    if s == "0.5": s = "\\frac{1}{2}"
    m = re.fullmatch(r"(\d+)/(\d+)", s)
    return "\\frac{" + m.group(1) + "}{" + m.group(2) + "}" if m else s
def last_boxed(t):
    i = t.rfind("\\boxed{")
    if i < 0: return None
    depth = 0
    for j in range(i + 6, len(t)):
        if t[j] == "{": depth += 1
        elif t[j] == "}":
            depth -= 1
            if depth == 0: return t[i + 7:j]
    return None
pairs = json.load(sys.stdin)
start = time.perf_counter()
for _ in range(ROUNDS):
    for response, gold in pairs:
        a = last_boxed(response)
        r = 1 if a is not None and strip_string(a) == strip_string(gold) else -1
print(json.dumps({"seconds": time.perf_counter() - start}))
`;

function pythonReference(items: Item[]): number | null {
  const probe = spawnSync('python3', ['--version']);
  if (probe.status !== 0) return null;
  const input = JSON.stringify(items.map((it) => [it.response, it.gold]));
  const r = spawnSync('python3', ['-c', PYTHON_REFERENCE.replace('ROUNDS', String(rounds))], { input, encoding: 'utf8' });
  if (r.status !== 0) return null;
  return (items.length * rounds) / (JSON.parse(r.stdout) as { seconds: number }).seconds;
}

async function main(): Promise<void> {
  const items = workload(loadGolds());
  console.log(`grade: ${items.length} MATH500-style responses × ${rounds} rounds`);

  // Warm-up: starts the worker thread (its start-up is not part of the rate). The pair needs
  // the symbolic engine (trigonometry): radicals alone are decided by our exact layer.
  const warm = performance.now();
  await torlReward('\\boxed{\\sin\\frac{\\pi}{6}}', '\\frac{1}{2}');
  const runsBefore = symbolicRuns();
  console.log(`  worker start-up and first symbolic grade: ${(performance.now() - warm).toFixed(0)} ms`);

  const byKind = new Map<Item['kind'], { n: number; seconds: number; correct: number; refCorrect: number }>();
  let oursSeconds = 0;
  let correct = 0;
  let symbolic = 0;
  for (let round = 0; round < rounds; round++) {
    for (const kind of ['verbatim', 'rewritten', 'wrong'] as const) {
      const batch = items.filter((it) => it.kind === kind);
      const t0 = performance.now();
      // Graded concurrently, as a trainer grades one rollout batch.
      const results = await Promise.all(batch.map((it) => torlReward(it.response, it.gold)));
      const seconds = (performance.now() - t0) / 1000;
      oursSeconds += seconds;
      const entry = byKind.get(kind) ?? { n: 0, seconds: 0, correct: 0, refCorrect: 0 };
      entry.n += batch.length;
      entry.seconds += seconds;
      results.forEach((r, i) => {
        const ok = (r.reward === 1) === batch[i]!.equal;
        entry.correct += ok ? 1 : 0;
        correct += ok ? 1 : 0;
        symbolic += r.reason === 'match:symbolic' ? 1 : 0;
        entry.refCorrect += (referenceGrade(batch[i]!.response, batch[i]!.gold) === 1) === batch[i]!.equal ? 1 : 0;
      });
      byKind.set(kind, entry);
    }
    console.log(`  round ${round + 1}/${rounds} done`);
  }

  const r0 = performance.now();
  for (let round = 0; round < rounds; round++) for (const it of items) referenceGrade(it.response, it.gold);
  const refRate = (items.length * rounds) / ((performance.now() - r0) / 1000);
  const oursRate = (items.length * rounds) / oursSeconds;
  const pyRate = pythonReference(items);

  const n = items.length * rounds;
  const pad = (s: string, w: number) => s.padEnd(w);
  console.log('');
  console.log(`${pad('grader', 44)}${pad('grades/s', 12)}${pad('torl speed ÷ this row', 23)}verdicts agreeing with the labels`);
  console.log(`${pad('torl.reward.torlReward', 44)}${pad(oursRate.toFixed(0), 12)}${pad('1.00', 23)}${((100 * correct) / n).toFixed(1)}%`);
  const refCorrect = [...byKind.values()].reduce((s, e) => s + e.refCorrect, 0);
  console.log(`${pad('MATH strip_string exact match (TypeScript)', 44)}${pad(refRate.toFixed(0), 12)}${pad((oursRate / refRate).toFixed(3), 23)}${((100 * refCorrect) / n).toFixed(1)}%`);
  if (pyRate !== null) console.log(`${pad('MATH strip_string exact match (python3)', 44)}${pad(pyRate.toFixed(0), 12)}${pad((oursRate / pyRate).toFixed(3), 23)}(same verdicts as the TypeScript port)`);
  console.log('');
  console.log(`${pad('responses', 12)}${pad('torl grades/s', 16)}${pad('torl correct', 14)}strip_string correct`);
  for (const [kind, e] of byKind) {
    console.log(`${pad(kind, 12)}${pad((e.n / e.seconds).toFixed(0), 16)}${pad(((100 * e.correct) / e.n).toFixed(1) + '%', 14)}${((100 * e.refCorrect) / e.n).toFixed(1)}%`);
  }
  const engineRuns = symbolicRuns() - runsBefore;
  console.log(`(${((100 * symbolic) / n).toFixed(1)}% of grades matched by the symbolic rule; ${engineRuns / rounds} symbolic-engine comparisons per round of ${items.length})`);
  await shutdownGrader();
  const kinds = Object.fromEntries([...byKind].map(([k, e]) => [k, { gradesPerSec: e.n / e.seconds, correct: e.correct / e.n, referenceCorrect: e.refCorrect / e.n }]));
  console.log(
    JSON.stringify({
      bench: 'grade',
      responses: items.length,
      rounds,
      gradesPerSec: oursRate,
      referenceGradesPerSec: refRate,
      ratio: oursRate / refRate,
      pythonReferenceGradesPerSec: pyRate,
      pythonRatio: pyRate === null ? null : oursRate / pyRate,
      correct: correct / n,
      referenceCorrect: refCorrect / n,
      symbolicMatchShare: symbolic / n,
      symbolicEngineRunsPerRound: engineRuns / rounds,
      kinds,
    }),
  );
}

await main();
