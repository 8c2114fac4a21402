// Text in the engine (with the Qwen tokenizer): stop strings matched on
// incrementally decoded text across token boundaries, never half a character;
// string prompts; `text` equal to decoding the output ids; the stop string kept
// or cut; a stop string inside appended (extend) text never matches.
import t from 'tap';

import { Engine, loadTokenizer, Model, qwen2Config } from '../../lib/index.js';
import { StopText } from '../../lib/engine/stop.js';
import { qwenTokenizerDir } from '../tokenizer/fixture.js';

const tok = await loadTokenizer(qwenTokenizerDir());

t.test('StopText: a stop string split over tokens is found when its last piece arrives', (t) => {
  const ids = tok.encode('naïve 你好 ```output\nok', { addSpecialTokens: false });
  for (const [stop, include, wantText, at] of [
    ['```output', false, 'naïve 你好 ', 'output'],
    ['```output', true, 'naïve 你好 ```output', 'output'],
    ['ve 你', false, 'naï', '你好'],
  ] as const) {
    const s = new StopText(tok, [stop, 'never'], include);
    let hit: string | undefined, hitToken = '';
    for (const id of ids) {
      hit = s.push([id]);
      if (hit) {
        hitToken = tok.decode([id]);
        break;
      }
    }
    t.equal(hit, stop, `'${stop}' matched`);
    t.equal(hitToken, at, `… by the token '${at}'`);
    t.equal(s.finish(), wantText, `… text ${JSON.stringify(wantText)}`);
  }
  t.end();
});

t.test('StopText: multi-byte characters split over byte tokens never show half', (t) => {
  const text = 'a🙂b🧑‍🚀c 𝔘𝔫𝔦';
  const ids = tok.encode(text, { addSpecialTokens: false });
  t.ok(ids.some((id) => tok.decode([id]).includes('\uFFFD')), 'the encoding does split characters over tokens');
  const s = new StopText(tok, ['🚀c'], true);
  const pieces: string[] = [];
  let hit: string | undefined;
  for (const id of ids) {
    const before = s.text.length;
    hit = s.push([id]);
    pieces.push(s.text.slice(before));
    if (hit) break;
  }
  t.notOk(pieces.some((p) => p.includes('\uFFFD')), 'no piece holds U+FFFD');
  t.equal(hit, '🚀c', 'a stop string of a 4-byte character and a letter matched');
  t.equal(s.finish(), 'a🙂b🧑‍🚀c');
  t.end();
});

t.test('engine with a tokenizer: string prompts, text, stop strings', async (t) => {
  const config = qwen2Config({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 16, vocabSize: tok.vocabSize, bosTokenId: 0, eosTokenId: tok.eosTokenId!, maxPositionEmbeddings: 256 });
  const model = Model.random(config, { seed: 2, std: 0.4 });
  const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 1024 });
  const prompt = 'Compute 12 * 34 with Python.\n';
  const params = { temperature: 0, maxTokens: 40, ignoreEos: true };
  const [byText] = await e.generate([prompt], params);
  const [byIds] = await e.generate([tok.encode(prompt, { addSpecialTokens: false })], params);
  t.same(byText!.promptTokenIds, tok.encode(prompt, { addSpecialTokens: false }), 'a string prompt is encoded without special tokens');
  const out = byText!.outputs[0]!;
  t.same(out.tokenIds, byIds!.outputs[0]!.tokenIds, 'string and id prompts generate the same');
  t.equal(out.text, tok.decode(out.tokenIds, { skipSpecialTokens: true }), 'text = decode(tokenIds)');

  // a stop string taken from the middle of the output, spanning a token boundary
  const pieces = out.tokenIds.map((_, i) => tok.decode(out.tokenIds.slice(0, i + 1), { skipSpecialTokens: true }));
  const k = pieces.findIndex((p, i) => i >= 8 && p.length >= 2 && !p.endsWith('\uFFFD') && pieces[i - 1]!.length >= 2 && !pieces[i - 1]!.endsWith('\uFFFD') && p.length > pieces[i - 1]!.length);
  t.ok(k > 0, 'found a boundary to cut at');
  const cut = pieces[k - 1]!.length;
  const stop = out.text!.slice(cut - 1, cut + 1); // last char of token k−1's text, first of token k's
  const first = out.text!.indexOf(stop);
  const ends = pieces.findIndex((p) => !p.endsWith('\uFFFD') && p.length >= first + stop.length);
  for (const include of [false, true]) {
    const [r] = await e.generate([prompt], { ...params, stop: [stop], includeStopStrInOutput: include });
    const o = r!.outputs[0]!;
    t.equal(o.finishReason, 'stop');
    t.equal(o.stopReason, stop);
    t.same(o.tokenIds, out.tokenIds.slice(0, ends + 1), `generation ends at the token that completes ${JSON.stringify(stop)}`);
    t.equal(o.text, out.text!.slice(0, first + (include ? stop.length : 0)), `text cut ${include ? 'after' : 'before'} the stop string`);
  }

  // streaming: the text pieces add up to the final text, and never show what a stop string cuts
  for (const include of [false, true]) {
    let streamed = '';
    for await (const ev of e.stream([prompt], { ...params, stop: [stop], includeStopStrInOutput: include })) {
      streamed += ev.text ?? '';
      t.ok(out.text!.startsWith(streamed) && streamed.length <= first + (include ? stop.length : 0), 'a streamed prefix of the final text');
    }
    t.equal(streamed, out.text!.slice(0, first + (include ? stop.length : 0)), `streamed text = the final text (stop ${include ? 'kept' : 'cut'})`);
  }
  let plain = '';
  for await (const ev of e.stream([prompt], params)) plain += ev.text ?? '';
  t.equal(plain, out.text, 'without stop strings too');

  // held request: a stop string inside the appended text does not end the continuation
  const id = e.addRequest(prompt, { ...params, maxTokens: 3 }, { hold: true });
  const held = await e.wait(id);
  const appended = tok.encode('\n```output\n42\n```\n', { addSpecialTokens: false });
  e.extend(id, 0, appended, { ...params, maxTokens: 5, stop: ['```output'] });
  const cont = (await e.wait(id)).outputs[0]!;
  t.equal(cont.finishReason, 'length', 'the stop string in the appended tokens did not match');
  t.equal(cont.tokenIds.length, 3 + appended.length + 5);
  t.equal(cont.text, tok.decode(cont.tokenIds, { skipSpecialTokens: true }), 'text covers sampled and appended tokens');
  t.same(cont.tokenIds.slice(0, 3), held.outputs[0]!.tokenIds);
  e.release(id);
  const s = e.stats();
  t.equal(s.freeBlocks, s.numBlocks);
  e.dispose();
});

t.test('a head padded past the tokenizer (Qwen2.5: 151936 rows, 151665 ids): only the tokenizer’s ids are sampled', async (t) => {
  const V = tok.vocabSize + 64;
  const config = qwen2Config({ hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1, headDim: 16, vocabSize: V, bosTokenId: 0, eosTokenId: tok.eosTokenId!, maxPositionEmbeddings: 128, tieWordEmbeddings: false });
  const model = Model.random(config, { seed: 3, std: 0.2 });
  const head = model.native.weight('lm_head.weight');
  const w = head.toArray() as Float32Array;
  for (let r = tok.vocabSize; r < V; r++) for (let d = 0; d < 32; d++) w[r * 32 + d] = 3 * Math.sign(w[d]! || 1); // the padding rows would win often
  const { tensor } = await import('../../lib/index.js');
  const wt = tensor(w, [V, 32]);
  model.native.setWeight('lm_head.weight', wt);
  wt.dispose();
  const prompt = tok.encode('Compute 2+3.', { addSpecialTokens: false });
  const params = { temperature: 1, maxTokens: 24, seed: 4, ignoreEos: true, n: 4 };
  const bare = new Engine(model, { kvCacheTokens: 1024 });
  const unmasked = (await bare.generate([prompt], params))[0]!.outputs.flatMap((o) => o.tokenIds);
  bare.dispose();
  t.ok(unmasked.some((id) => id >= tok.vocabSize), 'without the tokenizer the padding rows are sampled (so the test can fail)');
  for (const packWeights of [true, false]) {
    const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 1024, packWeights });
    const out = (await e.generate([prompt], params))[0]!.outputs;
    t.ok(out.every((o) => o.tokenIds.every((id) => id < tok.vocabSize)), `packWeights ${packWeights}: every sampled id has text`);
    t.ok(out.every((o) => o.text === tok.decode(o.tokenIds)), 'and decodes');
    e.dispose();
  }
});
