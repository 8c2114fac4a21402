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

for (const [name, rows] of [['aime24', 30], ['aime25', 30], ['amc23', 40], ['math500', 500], ['olympiadbench', 675]] as const) {
  t.test(`${name}: every gold answer equals itself, plain and boxed`, async (t) => {
    const answers = golds(name);
    t.equal(answers.length, rows);
    let failures = 0;
    for (const gold of answers) {
      // Plain: the gold in math delimiters, so it goes through normalisation, not the raw-text shortcut.
      const plain = await isEquivalent(`$${gold}$`, gold);
      const boxed = await torlReward(`Putting it together, the answer is $\\boxed{${gold}}$.`, gold);
      if (!plain.equal) t.fail(`plain ${JSON.stringify(gold)}: ${plain.rule}`);
      if (boxed.reward !== 1 || boxed.answer !== gold.trim()) t.fail(`boxed ${JSON.stringify(gold)}: ${boxed.reason}, ${boxed.answer}`);
      if (!plain.equal || boxed.reward !== 1) failures++;
    }
    t.equal(failures, 0, `${answers.length} golds`);
  });
}
