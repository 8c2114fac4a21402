// The demo tokenizer: written in HF's format, loaded by loadTokenizer, a few hundred tokens,
// digits one token each, and exact round trips on corpus text, problems, code and tracebacks.
import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from '../../lib/index.js';
import { buildCorpus, docText } from '../../lib/demo/corpus.js';
import { demoSplits } from '../../lib/demo/task.js';
import { demoPrompt } from '../../lib/demo/template.js';
import { EOS_TOKEN, learnBpe, writeDemoTokenizer } from '../../lib/demo/tokenizer.js';

const docs = buildCorpus({ seed: 5, size: 3000 });
const dir = await mkdtemp(join(tmpdir(), 'torl-demo-tok-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const size = await writeDemoTokenizer(dir, docs.map(docText));
const tok = await loadTokenizer(dir);

t.test('a standard HF tokenizer of a few hundred tokens, with EOS', async (t) => {
  const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
  t.equal(json.model.type, 'BPE');
  t.equal(json.pre_tokenizer.type, 'Sequence', "Qwen2's pre-tokenizer layout");
  t.equal(tok.vocabSize, size);
  t.ok(size > 256 && size <= 600, `vocabulary of ${size} tokens`);
  t.equal(tok.eosTokenId, size - 1, 'EOS is the last id');
  t.same(tok.stopTokenIds, [size - 1]);
  t.equal(tok.idToToken(tok.eosTokenId!), EOS_TOKEN);
  t.ok(tok.encode('print').length === 1 && tok.encode('python').length === 1, 'frequent words are single tokens');
  t.equal(tok.encode('4517277').length, 7, 'digits stay one token each');
});

t.test('exact round trips: corpus documents, test problems, prompts, code, tracebacks, anything', (t) => {
  let bad = 0;
  for (const d of docs) if (tok.decode(tok.encode(docText(d))) !== docText(d)) bad++;
  t.equal(bad, 0, `all ${docs.length} corpus documents`);
  const { test } = demoSplits({ seed: 9, train: 10, test: 300 });
  t.ok(test.every((p) => tok.decode(tok.encode(demoPrompt(p.problem))) === demoPrompt(p.problem)), 'test prompts');
  const extra = [
    'Traceback (most recent call last):\n  File "<string>", line 1, in <module>\nZeroDivisionError: division by zero\n',
    "```python\nimport math\nfor i in range(10):\n    print(i ** 2, math.gcd(i, 6))\n```\n```output\n0 6\n```\n",
    '\\boxed{\\frac{3}{4}}  tabs\tand  double  spaces\r\n',
    'ünïcödé — 数学 🙂',
  ];
  for (const s of extra) t.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s.slice(0, 30)));
  t.end();
});

t.test('learnBpe is deterministic', (t) => {
  const texts = docs.slice(0, 300).map(docText);
  t.same(learnBpe(texts), learnBpe(texts));
  t.end();
});
