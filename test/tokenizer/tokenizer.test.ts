import t from 'tap';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, type Tokenizer } from '../../lib/tokenizer/index.js';
import { qwenTokenizerDir, qwenTokenizerJson } from './fixture.js';

/** GPT-2's byte -> printable character table (the published bytes_to_unicode), written out naively. */
function bytesToUnicode(): Map<number, string> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  return new Map(bs.map((b, i) => [b, String.fromCodePoint(cs[i] ?? 0)]));
}

/** One token per UTF-8 byte: every character boundary and every split inside a character. */
function byteTokens(tok: Tokenizer, text: string): number[] {
  const table = bytesToUnicode();
  return [...Buffer.from(text, 'utf8')].map((b) => {
    const id = tok.tokenToId(table.get(b) ?? '');
    if (id === undefined) throw new Error(`no byte token for ${b}`);
    return id;
  });
}

/** The longest prefix of `bytes` that ends on a character boundary, decoded. */
function completePrefix(bytes: Buffer, k: number): string {
  let end = k;
  while (end > 0 && end < bytes.length && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

const tokP = loadTokenizer(qwenTokenizerDir());

t.test('loads from a directory or a tokenizer.json; special ids; known encodings', async (t) => {
  const tok = await tokP;
  const byFile = await loadTokenizer(qwenTokenizerJson());
  t.equal(tok.vocabSize, 151669);
  t.equal(byFile.vocabSize, 151669);
  t.equal(tok.eosTokenId, 151645, '<|im_end|>');
  t.equal(tok.padTokenId, 151643, '<|endoftext|>');
  t.equal(tok.bosTokenId, undefined, 'Qwen has no BOS');
  t.same(tok.stopTokenIds, [151645]);
  t.ok(tok.specialTokenIds.has(151643) && tok.specialTokenIds.has(151644));
  // ids from Qwen2's published vocabulary
  t.same(tok.encode('Hello world'), [9707, 1879]);
  t.same(tok.encode('<|im_start|>user\nHi<|im_end|>'), [151644, 872, 198, 13048, 151645]);
  t.same(tok.encode('12345'), [16, 17, 18, 19, 20], 'digits are split one by one');
  t.same(tok.encode('Hello world', { addSpecialTokens: false }), [9707, 1879]);
  t.same(tok.encodeBatch(['Hello', ' world']), [[9707], [1879]]);
  t.equal(tok.decode([151644, 872, 198, 13048, 151645]), '<|im_start|>user\nHi<|im_end|>');
  t.equal(tok.decode([151644, 872, 198, 13048, 151645], { skipSpecialTokens: true }), 'user\nHi');
  t.same(tok.decodeBatch([[9707], [1879]]), ['Hello', ' world']);
  t.equal(tok.idToToken(1879), 'Ġworld');
  t.throws(() => tok.decode([5, 999999]), /token id 999999 is outside the vocabulary \(0..151668\)/);
  t.throws(() => tok.decode([1.5]), /token id 1.5 is outside/);
});

t.test('generation_config.json adds stop ids', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'torl-tok-'));
  copyFileSync(qwenTokenizerJson(), join(dir, 'tokenizer.json'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: { content: '<|endoftext|>' } }));
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [151645, 151643] }));
  const tok = await loadTokenizer(dir);
  t.equal(tok.eosTokenId, 151643);
  t.equal(tok.padTokenId, 151643, 'pad falls back to eos');
  t.same(tok.stopTokenIds, [151643, 151645]);
  t.equal(tok.chatTemplate, undefined);
  t.throws(() => tok.applyChatTemplate([{ role: 'user', content: 'x' }]), /no chat_template/);
});

t.test('bad tokenizer files get clear errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'torl-tok-'));
  await t.rejects(loadTokenizer(dir), /tokenizer.json: no such file/);
  writeFileSync(join(dir, 'tokenizer.json'), '{"model": {}}');
  await t.rejects(loadTokenizer(dir), /tokenizer.json: not an HF tokenizer.json \(no model.vocab\)/);
  writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
  await t.rejects(loadTokenizer(dir), /tokenizer.json: .*JSON/);
});

t.test('incremental decoding: every split point inside multi-byte characters', async (t) => {
  const tok = await tokP;
  const texts = ['é', '你好，世界', 'naïve café ∑∫ 𝔸', '👍🏽 family: 👨‍👩‍👧‍👦 flag 🇯🇵', 'mixed ASCII, 한국어 and emoji 😀!', '\u0301 combining first'];
  for (const text of texts) {
    const bytes = Buffer.from(text, 'utf8');
    const ids = byteTokens(tok, text);
    t.equal(ids.length, bytes.length);
    const stream = tok.decodeStream();
    let out = '';
    ids.forEach((id, k) => {
      const delta = stream.push(id);
      t.notOk(delta.includes('\uFFFD'), `no replacement character after byte ${k + 1} of ${JSON.stringify(text)}`);
      out += delta;
      t.equal(out, completePrefix(bytes, k + 1), `text after ${k + 1} bytes of ${JSON.stringify(text)}`);
    });
    out += stream.flush();
    t.equal(out, tok.decode(ids));
    t.equal(out, text);
  }
});

t.test('incremental decoding of natural token streams, several ids at a time, and flush', async (t) => {
  const tok = await tokP;
  const text = 'Σ 𝔸 😀🎉 こんにちは <|im_end|> \\boxed{42}';
  const ids = tok.encode(text);
  for (const step of [1, 2, 3]) {
    const stream = tok.decodeStream();
    let out = '';
    for (let i = 0; i < ids.length; i += step) {
      const d = stream.push(...ids.slice(i, i + step));
      t.notOk(d.includes('\uFFFD'));
      out += d;
    }
    t.equal(out + stream.flush(), text, `step ${step}`);
    t.same(stream.tokenIds, ids);
  }
  const skip = tok.decodeStream({ skipSpecialTokens: true });
  t.equal(ids.map((id) => skip.push(id)).join('') + skip.flush(), tok.decode(ids, { skipSpecialTokens: true }));
  // an incomplete character at the end of the stream is held back, then flushed as HF decodes it
  const cut = byteTokens(tok, '日本').slice(0, 4);
  const stream = tok.decodeStream();
  t.equal(cut.map((id) => stream.push(id)).join(''), '日');
  t.equal(stream.flush(), '\uFFFD');
  t.equal(tok.decode(cut), '日\uFFFD');
});

t.test('chat template from tokenizer_config.json (Jinja)', async (t) => {
  const tok = await tokP;
  t.ok(tok.chatTemplate?.includes('<|im_start|>'));
  t.equal(tok.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is 1+1?' }]),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 1+1?<|im_end|>\n<|im_start|>assistant\n');
  t.equal(tok.applyChatTemplate([{ role: 'user', content: 'x' }], { addGenerationPrompt: false }), '<|im_start|>user\nx<|im_end|>\n');
  t.equal(tok.applyChatTemplate([{ role: 'user', content: 'x' }], { variables: { enable_thinking: false } }),
    '<|im_start|>user\nx<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n');
});
