// The chosen tokenizer (@huggingface/tokenizers, pure JS) against vectors made by HF's Rust
// implementation (test/tokenizer/make-parity-vectors.ts): every id of every string, and decode.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { resolve } from 'node:path';
import { loadTokenizer } from '../../lib/tokenizer/index.js';
import { qwenTokenizerJson } from './fixture.js';

interface Vector { kind: string; s?: string; ids: number[]; d?: string; dSkip?: string }

const vectors = gunzipSync(readFileSync(resolve(import.meta.dirname, '../fixtures/tokenizer-parity.jsonl.gz')))
  .toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Vector);

t.test('parity with HF tokenizers (Rust) on the committed vectors', async (t) => {
  const tok = await loadTokenizer(qwenTokenizerJson());
  const encodes = vectors.filter((v) => v.s !== undefined);
  t.ok(encodes.length >= 10000, `${encodes.length} encode vectors`);
  const kinds = new Map<string, number>();
  let encodeMismatch = 0;
  let decodeMismatch = 0;
  for (const v of vectors) {
    kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
    if (v.s !== undefined) {
      const ids = tok.encode(v.s);
      if (ids.length !== v.ids.length || ids.some((id, i) => id !== v.ids[i])) {
        if (encodeMismatch++ < 5) t.same(ids, v.ids, `encode [${v.kind}] ${JSON.stringify(v.s).slice(0, 120)}`);
      }
    }
    const want = v.d ?? v.s;
    if (tok.decode(v.ids) !== want) {
      if (decodeMismatch++ < 5) t.equal(tok.decode(v.ids), want, `decode [${v.kind}] ${JSON.stringify(v.ids).slice(0, 120)}`);
    }
    if (v.dSkip !== undefined && tok.decode(v.ids, { skipSpecialTokens: true }) !== v.dSkip) {
      if (decodeMismatch++ < 5) t.equal(tok.decode(v.ids, { skipSpecialTokens: true }), v.dSkip, `decode(skip) ${JSON.stringify(v.ids).slice(0, 120)}`);
    }
  }
  t.equal(encodeMismatch, 0, 'encode: every id identical');
  t.equal(decodeMismatch, 0, 'decode: every string identical');
  t.comment([...kinds].map(([k, n]) => `${k}=${n}`).join(' '));
});
