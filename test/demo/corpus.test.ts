// The demo corpus: its tool-use share counted from the texts (not from the labels), code that
// prints the answer through the real PythonSandbox, boxed answers copied from the output, the
// broken programs failing with the very error the corpus shows, the loss mask off observations.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractProgram, formatObservation, loadTokenizer, PythonSandbox, reward } from '../../lib/index.js';
import { brokenProgram, buildCorpus, docText, tokenizeDoc } from '../../lib/demo/corpus.js';
import { DEMO_RECIPE } from '../../lib/demo/base-model.js';
import { problemSplit } from '../../lib/demo/task.js';
import { writeDemoTokenizer } from '../../lib/demo/tokenizer.js';

const docs = buildCorpus({ ...DEMO_RECIPE.corpus, seed: 0 });
const responses = docs.map((d) => d.segments.map((s) => s.text).join(''));
const calls = (r: string) => r.split('```output').length - 1;

t.test('tool-use share, counted from the texts', async (t) => {
  const withTool = responses.filter((r) => calls(r) > 0).length / docs.length;
  const retried = responses.filter((r) => calls(r) === 2).length / docs.length;
  t.ok(withTool > 0.15 && withTool <= 0.25, `share of documents with a \`\`\`python call: ${withTool.toFixed(3)} (recipe ${DEMO_RECIPE.corpus.toolShare})`);
  t.ok(retried > 0.01 && retried < 0.06, `share with an error and a retry: ${retried.toFixed(3)}`);
  t.ok(responses.every((r) => calls(r) <= 2), 'never more than two calls');
  t.ok(docs.every((d) => problemSplit(d.problem.problem) === 'train'), 'no test problem in the corpus');
  const right = await Promise.all(docs.map(async (d, i) => (await reward.torlReward(responses[i]!, d.problem.answer)).reward > 0));
  const acc = (pick: (i: number) => boolean) => { const xs = right.filter((_, i) => pick(i)); return xs.filter(Boolean).length / xs.length; };
  t.equal(acc((i) => calls(responses[i]!) > 0), 1, 'every tool document boxes the right answer');
  t.equal(acc((i) => calls(responses[i]!) === 0 && docs[i]!.problem.level === 'easy'), 1, 'text-only attempts are right on easy problems');
  t.equal(acc((i) => calls(responses[i]!) === 0 && docs[i]!.problem.level === 'hard'), 0, 'and wrong guesses on hard ones');
});

t.test('the code in the corpus, run by the real sandbox, gives the observations it shows', async (t) => {
  const sandbox = new PythonSandbox({ workers: 2 });
  t.teardown(() => sandbox.close());
  const sample = docs.filter((d) => d.mode !== 'text').slice(0, 40);
  for (const d of sample) {
    const obs = d.segments.filter((s) => s.observation);
    const code = d.segments.filter((s) => !s.observation).map((s) => extractProgram(s.text.slice(0, s.text.lastIndexOf('```output')))).filter((c) => c !== null);
    t.equal(code.length, obs.length, 'a program before every observation');
    for (const [i, c] of code.entries()) {
      const r = await sandbox.run({ code: c! });
      if (`\n${formatObservation(r, { maxChars: 256 })}\n\`\`\`\n` !== obs[i]!.text) t.fail(`${JSON.stringify(c)}: got ${JSON.stringify(formatObservation(r))}, corpus shows ${JSON.stringify(obs[i]!.text)}`);
    }
  }
  for (const kind of ['mul', 'powmod', 'sum']) {
    const p = docs.find((d) => d.problem.kind === kind)!.problem;
    const b = brokenProgram(p);
    t.equal(formatObservation(await sandbox.run({ code: b.code })), b.error, `${kind}: the broken program fails as shown`);
  }
});

t.test('tokenized documents: prompt and observations out of the loss, text = the document', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'torl-demo-corpus-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeDemoTokenizer(dir, docs.slice(0, 2000).map(docText));
  const tok = await loadTokenizer(dir);
  const d = docs.find((x) => x.mode === 'tool')!;
  const { tokens, mask } = tokenizeDoc(tok, d);
  t.equal(tokens[tokens.length - 1], tok.eosTokenId, 'ends with EOS');
  t.equal(tok.decode(tokens.slice(0, -1)), docText(d), 'decodes to the document');
  const masked = tok.decode(tokens.filter((_, i) => mask[i] === 0));
  t.equal(masked, d.prompt + d.segments.filter((s) => s.observation).map((s) => s.text).join(''), 'mask 0 exactly on the prompt and the observation');
});
