import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isEquivalent, torlReward } from '../../lib/reward/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const benchmarks = join(resolve(repoRoot, '../shared/data'), 'benchmarks');

function golds(name: string): string[] {
  const lines = readFileSync(join(benchmarks, `${name}.jsonl`), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((l) => String((JSON.parse(l) as { answer: unknown }).answer));
}

/**
 * Forms of `gold` a model may write that a grader must accept, each different text from the
 * gold, so the exact-string rule cannot decide them: \dfrac for \frac (and back), other
 * spacing, \(…\) delimiters, a \text{} unit after a number, and equal numbers written
 * differently (N.0, 2N/2, a decimal fraction as a/b).
 */
function rewrites(gold: string): [string, string][] {
  const out: [string, string][] = [];
  const g = gold.trim();
  if (/\\frac(?![a-zA-Z])/.test(g)) out.push(['\\dfrac', g.replace(/\\frac(?![a-zA-Z])/g, '\\dfrac')]);
  if (/\\dfrac(?![a-zA-Z])/.test(g)) out.push(['\\frac', g.replace(/\\dfrac(?![a-zA-Z])/g, '\\frac')]);
  // Spaces dropped, except after a command name (\pi x) or between digits (1 2 is not 12).
  const tight = g.replace(/(?<!\\[a-zA-Z]+|\d) +| +(?!\d)/g, '');
  if (tight !== g && !/\\text/.test(g)) out.push(['no spaces', tight]);
  const loose = g.replace(/([,=+])(?! )/g, '$1 ');
  if (loose !== g) out.push(['spaces after , = +', loose]);
  out.push(['\\(…\\)', `\\(${g}\\)`]);
  const int = /^-?\d+$/.test(g);
  if (int) {
    out.push(['unit', `${g}\\text{ cm}`]);
    out.push(['N.0', `${g}.0`]);
    out.push(['2N/2', `\\frac{${2n * BigInt(g)}}{2}`]);
  }
  const frac = /^(-?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$/.exec(g);
  if (frac) out.push(['a/b', `${frac[1]}${frac[2]}/${frac[3]}`]);
  return out;
}

/**
 * `gold` changed so that it no longer holds: a choice letter moved to the next one, an
 * integer moved by one, else the last digit that is not a unit's exponent (15\mbox{ cm}^2:
 * units are dropped) moved by one, or, where there is no digit, "+ 1" added.
 */
function perturbed(gold: string): string {
  const g = gold.trim();
  const choice = /^(\\text\{\(|\(?)([A-E])(\)\}|\)?)$/.exec(g);
  if (choice) return `${choice[1]}${String.fromCharCode(choice[2]!.charCodeAt(0) + 1)}${choice[3]}`;
  if (/^-?\d+$/.test(g)) return String(BigInt(g) + 1n);
  const last = g.search(/(?<!\}\^)\d(?!.*(?<!\}\^)\d)/);
  if (last >= 0) return g.slice(0, last) + String((Number(g[last]) + 1) % 10) + g.slice(last + 1);
  return `${g} + 1`;
}

for (const [name, rows] of [['aime24', 30], ['aime25', 30], ['amc23', 40], ['math500', 500], ['olympiadbench', 675]] as const) {
  t.test(`${name}: every gold equals its rewritten forms, boxed, and differs from a perturbed one`, async (t) => {
    const answers = golds(name);
    t.equal(answers.length, rows);
    let failures = 0;
    let checked = 0;
    for (const gold of answers) {
      for (const [how, form] of rewrites(gold)) {
        checked++;
        const r = await isEquivalent(form, gold);
        if (!r.equal) {
          failures++;
          t.fail(`${how}: ${JSON.stringify(form)} vs ${JSON.stringify(gold)}: ${r.rule}`);
        }
      }
      const boxed = await torlReward(`Putting it together, the answer is $\\boxed{${gold}}$.`, gold);
      if (boxed.reward !== 1 || boxed.answer !== gold.trim()) {
        failures++;
        t.fail(`boxed ${JSON.stringify(gold)}: ${boxed.reason}, ${boxed.answer}`);
      }
      const wrong = perturbed(gold);
      checked++;
      const r = await isEquivalent(wrong, gold);
      if (r.equal) {
        failures++;
        t.fail(`perturbed ${JSON.stringify(wrong)} graded equal to ${JSON.stringify(gold)} by ${r.rule}`);
      }
    }
    t.equal(failures, 0, `${answers.length} golds, ${checked} rewritten and perturbed forms`);
  });
}
