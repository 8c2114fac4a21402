// The generation engine against naive references: greedy output equals the
// float64 Qwen2 recomputed over the growing sequence (prompts of 1, a block
// minus one, a block and several blocks, in one mixed batch; prefill chunks
// cut anywhere); the engine's log-probs equal Model.logprobs of prompt +
// output; seeds, n samples and their shared blocks; preemption and prefix
// hits change no output; no block leaks; bad input is refused without
// disturbing what is in flight.
import t from 'tap';

import { AdamW, Engine, Model, qwen2Config, type RequestOutput } from '../../lib/index.js';
import { greedy64, refConfig, weights64 } from '../helpers/generate-ref.js';
import { rng } from '../helpers/reference.js';

const config = qwen2Config({ hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 8, vocabSize: 64, tieWordEmbeddings: false, bosTokenId: 0, eosTokenId: 1, maxPositionEmbeddings: 128 });
const model = Model.random(config, { seed: 7, std: 0.5 });
const BS = 4;

function prompt(len: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: len }, () => 2 + Math.floor(r() * (config.vocabSize - 2)));
}

/** Prompts of 1, a block minus one, a block, several blocks (and a bit). */
const PROMPTS = [1, BS - 1, BS, 3 * BS + 2].map((n, i) => prompt(n, 100 + i));
const GREEDY = { temperature: 0, maxTokens: 9, ignoreEos: true };

const tokensOf = (outs: RequestOutput[]) => outs.map((o) => o.outputs.map((s) => s.tokenIds));

function noLeak(tt: Pick<typeof t, "equal">, e: Engine) {
  e.checkInvariants();
  const s = e.stats();
  tt.equal(s.freeBlocks, s.numBlocks, 'every block is back in the pool');
  tt.equal(s.running + s.waiting + s.held, 0, 'no sequence left');
}

t.test('greedy generation equals the float64 model recomputed over the growing sequence', async (t) => {
  const c = refConfig(config), W = weights64(model);
  const want = PROMPTS.map((p) => greedy64(c, W, p, GREEDY.maxTokens));
  t.ok(Math.min(...want.map((w) => w.minMargin)) > 1e-3, 'the reference has no near-ties (f32 vs f64 cannot flip a choice)');
  for (const [label, opts] of [
    ['one mixed batch', {}],
    ['prefill chunks of 5 tokens (cut inside blocks and prompts)', { maxBatchTokens: 5 }],
    ['block size 1', { blockSize: 1 }],
    ['block size 16 (every prompt in one partial block)', { blockSize: 16 }],
  ] as const) {
    const e = new Engine(model, { blockSize: BS, kvCacheTokens: 512, ...opts });
    const out = await e.generate(PROMPTS, GREEDY);
    t.same(tokensOf(out), want.map((w) => [w.tokens]), `${label}: tokens`);
    out.forEach((o, i) => {
      const err = Math.max(...o.outputs[0]!.logprobs.map((lp, j) => Math.abs(lp - want[i]!.logprobs[j]!)));
      t.ok(err < 2e-5, `${label}: prompt ${i} log-probs within 2e-5 of float64 (${err.toExponential(1)})`);
      t.equal(o.outputs[0]!.finishReason, 'length');
      t.same(o.promptTokenIds, PROMPTS[i]);
    });
    noLeak(t, e);
    e.dispose();
  }
});

t.test('log-probs equal Model.logprobs of prompt + output at the same temperature', async (t) => {
  const e = new Engine(model, { blockSize: BS, kvCacheTokens: 512 });
  const params = { temperature: 0.7, topK: 5, topP: 0.9, maxTokens: 12, seed: 3, ignoreEos: true, n: 2 };
  const out = await e.generate(PROMPTS, params);
  for (const [i, o] of out.entries())
    for (const s of o.outputs) {
      const tokens = Int32Array.from([...PROMPTS[i]!, ...s.tokenIds]);
      const lp = await model.logprobs({ tokens, cuSeqlens: Int32Array.from([0, tokens.length]) }, { temperature: 0.7 });
      const want = lp.logprobs.slice(PROMPTS[i]!.length - 1, tokens.length - 1);
      const err = Math.max(...s.logprobs.map((x, j) => Math.abs(x - want[j]!)));
      // two f32 paths (paged decode vs the packed causal forward) summing in other orders: |log p| ≲ 10, so 5e-5 is ~5e-6 relative
      t.ok(err < 5e-5, `prompt ${i} sample ${s.index}: |engine − model.logprobs| = ${err.toExponential(1)}`);
    }
  noLeak(t, e);
  e.dispose();
});

t.test('seeds: the same seed gives the same samples whatever the batch holds; n samples are different draws', async (t) => {
  const params = { temperature: 1, maxTokens: 16, seed: 11, ignoreEos: true };
  const e = new Engine(model, { blockSize: BS, kvCacheTokens: 1024 });
  const alone = await e.generate([PROMPTS[3]!], params);
  e.resetPrefixCache(); // a prefix hit would run the prompt through the paged kernel instead of the packed one
  const crowd = await e.generate([PROMPTS[0]!, PROMPTS[3]!, PROMPTS[1]!], [{ ...params, seed: 5 }, params, { ...params, seed: 9, temperature: 0.5 }]);
  t.same(crowd[1]!.outputs[0]!.tokenIds, alone[0]!.outputs[0]!.tokenIds, 'same seed, other company: same tokens');
  // batch invariance: with the weights packed (the CPU default) every GEMM sums each row in one order whatever the row count
  t.same(crowd[1]!.outputs[0]!.logprobs, alone[0]!.outputs[0]!.logprobs, '… and the same log-probs, bit for bit');
  const again = await e.generate([PROMPTS[3]!], params);
  t.same(again[0]!.outputs[0]!.tokenIds, alone[0]!.outputs[0]!.tokenIds, 'a second run (prefix-cache hits) repeats it');
  const other = await e.generate([PROMPTS[3]!], { ...params, seed: 12 });
  t.not(JSON.stringify(other[0]!.outputs[0]!.tokenIds), JSON.stringify(alone[0]!.outputs[0]!.tokenIds), 'another seed draws otherwise');
  const many = await e.generate([PROMPTS[3]!], { ...params, n: 4 });
  const seqs = many[0]!.outputs.map((o) => JSON.stringify(o.tokenIds));
  t.equal(new Set(seqs).size, 4, 'n = 4: four different samples');
  t.equal(seqs[0], JSON.stringify(alone[0]!.outputs[0]!.tokenIds), 'sample 0 of n = 4 is the n = 1 sample of that seed');
  const unseeded = await e.generate([PROMPTS[3]!, PROMPTS[3]!], { ...params, seed: undefined });
  t.not(JSON.stringify(unseeded[0]!.outputs[0]!.tokenIds), JSON.stringify(unseeded[1]!.outputs[0]!.tokenIds), 'unseeded requests draw independently');
  noLeak(t, e);
  e.dispose();
});

t.test('the n samples of a prompt share its blocks; copy-on-write of the shared partial block', async (t) => {
  const e = new Engine(model, { blockSize: BS, kvCacheTokens: 256 });
  const p = PROMPTS[3]!; // 14 tokens: 3 full blocks and a partial one of 2
  const id = e.addRequest(p, { n: 4, temperature: 1, seed: 1, maxTokens: 6, ignoreEos: true });
  const first = await e.step();
  t.equal(first.length, 4, 'one prefill step samples the first token of all four');
  const used = () => e.stats().numBlocks - e.stats().freeBlocks;
  t.equal(used(), 4, 'after the prefill the four samples hold the prompt’s 4 blocks, shared');
  e.checkInvariants();
  await e.step();
  t.equal(used(), 4 + 3, 'the first decode copies the shared partial block for 3 samples; the last writes it in place');
  e.checkInvariants();
  const out = await e.wait(id);
  t.equal(out.outputs.length, 4);
  for (const o of out.outputs) t.equal(o.tokenIds.length, 6);
  e.release(id);
  noLeak(t, e);
  e.dispose();
});

t.test('preemption (a cache too small for the batch) and prefix hits change no output', async (t) => {
  const prompts = [0, 1, 2, 3, 4, 5].map((i) => prompt(6 + 3 * i, 200 + i));
  const params = { temperature: 0.8, maxTokens: 20, seed: 4, ignoreEos: true, n: 2 };
  const big = new Engine(model, { blockSize: BS, kvCacheTokens: 2048 });
  const want = tokensOf(await big.generate(prompts, params));
  noLeak(t, big);
  t.equal(big.stats().preemptions, 0, 'the big cache never preempts');
  const small = new Engine(model, { blockSize: BS, kvCacheTokens: 64, maxModelLen: 64 });
  const got = tokensOf(await small.generate(prompts, params));
  t.ok(small.stats().preemptions > 0, `the small cache preempted (${small.stats().preemptions} times)`);
  t.same(got, want, 'same outputs');
  noLeak(t, small);
  const hits0 = big.stats().prefixCacheHits;
  t.same(tokensOf(await big.generate(prompts, params)), want, 'a rerun on the warm prefix cache: same outputs');
  t.ok(big.stats().prefixCacheHits > hits0, `… served by prefix hits (${big.stats().prefixCacheHits - hits0} blocks)`);
  noLeak(t, big);
  big.dispose();
  small.dispose();
});

t.test('held requests: extend continues a sample without recomputing its cache', async (t) => {
  const e = new Engine(model, { blockSize: BS, kvCacheTokens: 512 });
  const p = PROMPTS[2]!;
  const id = e.addRequest(p, { ...GREEDY, maxTokens: 5 }, { hold: true });
  const first = await e.wait(id);
  t.equal(e.stats().held, 1, 'the finished sample is held with its cache');
  const appended = [5, 6, 7];
  e.extend(id, 0, appended, { maxTokens: 6 });
  const cont = await e.wait(id);
  const whole = [...p, ...first.outputs[0]!.tokenIds, ...appended];
  const fresh = await e.generate([whole], { ...GREEDY, maxTokens: 6 });
  t.same(cont.outputs[0]!.tokenIds, [...first.outputs[0]!.tokenIds, ...appended, ...fresh[0]!.outputs[0]!.tokenIds], 'extend = generating from prompt + output + appended');
  t.same(cont.outputs[0]!.logprobs.slice(5, 8), [0, 0, 0], 'appended tokens have log-prob 0');
  t.throws(() => e.extend(id, 0, [config.vocabSize]), /outside the vocabulary/, 'appended ids are checked');
  e.release(id);
  t.throws(() => e.extend(id, 0, [5]), /no sample 0 of request/, 'a released request is gone');
  noLeak(t, e);
  e.dispose();
});

t.test('streaming: the events of stream() add up to generate()', async (t) => {
  const e = new Engine(model, { blockSize: BS, kvCacheTokens: 512 });
  const params = { temperature: 1, maxTokens: 7, seed: 2, ignoreEos: true, n: 2 };
  const want = tokensOf(await e.generate(PROMPTS, params));
  const got = PROMPTS.map(() => [[], []] as number[][]);
  let finished = 0;
  for await (const ev of e.stream(PROMPTS, params)) {
    got[ev.promptIndex]![ev.index]!.push(ev.tokenId);
    if (ev.finishReason) finished++;
  }
  t.same(got, want);
  t.equal(finished, PROMPTS.length * 2, 'each sample finishes once');
  noLeak(t, e);
  e.dispose();
});

t.test('stop token ids, EOS and maxModelLen', async (t) => {
  const e = new Engine(model, { blockSize: BS, kvCacheTokens: 512, maxModelLen: 24 });
  const free = (await e.generate([PROMPTS[3]!], { ...GREEDY, maxTokens: 8 }))[0]!.outputs[0]!;
  const stopAt = free.tokenIds[3]!;
  const first = free.tokenIds.indexOf(stopAt);
  const stopped = (await e.generate([PROMPTS[3]!], { ...GREEDY, maxTokens: 8, stopTokenIds: [stopAt] }))[0]!.outputs[0]!;
  t.same(stopped.tokenIds, free.tokenIds.slice(0, first + 1), 'ends at (and keeps) the stop token');
  t.equal(stopped.finishReason, 'stop');
  t.equal(stopped.stopReason, stopAt);
  const long = (await e.generate([PROMPTS[3]!], { ...GREEDY, maxTokens: 100 }))[0]!.outputs[0]!;
  t.equal(PROMPTS[3]!.length + long.tokenIds.length, 24, 'prompt + output stop at maxModelLen');
  t.equal(long.finishReason, 'length');
  const eosModel = new Engine(model, { blockSize: BS, kvCacheTokens: 512 });
  const sampled = await eosModel.generate(Array.from({ length: 24 }, (_, i) => prompt(3, 300 + i)), { temperature: 1.5, maxTokens: 40, seed: 1 });
  const ended = sampled.flatMap((o) => o.outputs).filter((o) => o.finishReason === 'stop');
  t.ok(ended.length > 0, `some samples drew EOS (${ended.length} of 24)`);
  for (const o of ended) t.equal(o.tokenIds[o.tokenIds.length - 1], 1, 'EOS (config eos_token_id 1) ends them');
  noLeak(t, e);
  noLeak(t, eosModel);
  e.dispose();
  eosModel.dispose();
});

t.test('bad input: clear errors, nothing in flight disturbed', async (t) => {
  const e = new Engine(model, { blockSize: BS, kvCacheTokens: 256, maxModelLen: 64 });
  const id = e.addRequest(PROMPTS[3]!, { ...GREEDY, maxTokens: 6 });
  await e.step();
  t.throws(() => e.addRequest([3, config.vocabSize]), /prompt\[1\] = 64 is outside the vocabulary \[0, 64\)/);
  t.throws(() => e.addRequest([3, -1]), /prompt\[1\] = -1 is outside/);
  t.throws(() => e.addRequest(new Array(64).fill(3)), /64 tokens; maxModelLen is 64/);
  t.throws(() => e.addRequest([]), /the prompt is empty/);
  t.throws(() => e.addRequest([3], { temperature: -1 }), /temperature must be a finite number ≥ 0, got -1/);
  t.throws(() => e.addRequest([3], { topP: NaN }), /topP must be in \(0, 1\], got NaN/);
  t.throws(() => e.addRequest([3], { n: 0 }), /n must be an integer ≥ 1/);
  t.throws(() => e.addRequest([3], { maxTokens: 1.5 }), /maxTokens must be an integer ≥ 1/);
  t.throws(() => e.addRequest([3], { topK: -2 }), /topK must be/);
  t.throws(() => e.addRequest([3], { minP: 1 }), /minP must be in \[0, 1\)/);
  t.throws(() => e.addRequest([3], { seed: -3 }), /seed must be a non-negative safe integer/);
  t.throws(() => e.addRequest([3], { stopTokenIds: [99] }), /stopTokenIds must be an array of token ids in \[0, 64\)/);
  t.throws(() => e.addRequest([3], { temprature: 1 } as never), /unknown sampling parameter 'temprature'/);
  t.throws(() => e.addRequest('hello'), /a string prompt needs the engine's tokenizer/);
  t.throws(() => e.addRequest([3], { stop: ['x'] }), /stop strings need the engine's tokenizer/);
  t.throws(() => e.addRequest([3], {}, { requestId: id }), /already in use/);
  await t.rejects(e.generate([[3], [3, 99]], GREEDY), /prompt 1: prompt\[1\] = 99 is outside/, 'generate checks every prompt first');
  t.equal(e.stats().waiting + e.stats().running, 1, 'nothing of the refused generate was queued');
  const out = await e.wait(id);
  const ref = greedy64(refConfig(config), weights64(model), PROMPTS[3]!, 6);
  t.same(out.outputs[0]!.tokenIds, ref.tokens, 'the request in flight finished as if nothing happened');
  e.release(id);
  t.throws(() => new Engine(model, { blockSize: 0 }), /blockSize must be a positive integer/);
  t.throws(() => new Engine(model, { kvCacheTokens: 3, blockSize: 4 }), /holds no block/);
  t.throws(() => new Engine(model, { maxModelLen: 1000 }), /past the model's max_position_embeddings/);
  t.throws(() => new Engine(model, { kvCacheTokens: 32, maxModelLen: 64 }), /does not fit the KV cache/);
  noLeak(t, e);
  e.dispose();
});

t.test('abort: a request leaves the batch at once and its blocks return', async (t) => {
  const e = new Engine(model, { blockSize: BS, kvCacheTokens: 256 });
  const a = e.addRequest(PROMPTS[3]!, { ...GREEDY, maxTokens: 50, n: 3, temperature: 1, seed: 1 });
  const b = e.addRequest(PROMPTS[2]!, { ...GREEDY, maxTokens: 10 });
  const waitA = e.wait(a);
  const waitB = e.wait(b);
  await e.step();
  await e.step();
  e.abort(a);
  await t.rejects(waitA, /request '0' was aborted/);
  const outB = await waitB;
  t.equal(outB.outputs[0]!.tokenIds.length, 10, 'the other request completes');
  e.release(b);
  noLeak(t, e);
  e.dispose();
});

t.test('the engine decodes with the live weights: an optimizer step shows at once, and drops the stale prefix cache', async (t) => {
  const m = Model.random(config, { seed: 21, std: 0.5 });
  const e = new Engine(m, { blockSize: BS, kvCacheTokens: 512 });
  const p = PROMPTS[3]!; // 14 tokens: 3 full blocks cached after the first run
  const before = (await e.generate([p], GREEDY))[0]!.outputs[0]!.tokenIds;
  t.same(before, greedy64(refConfig(config), weights64(m), p, GREEDY.maxTokens).tokens, 'before: the float64 greedy of the weights');
  // one AdamW step on a cross-entropy loss changes every weight in place
  const opt = new AdamW(m, { lr: 0.05 });
  const tokens = Int32Array.from([...p, ...before]);
  await m.forwardBackward({ tokens, cuSeqlens: Int32Array.from([0, tokens.length]) }, { type: 'crossEntropy' });
  await opt.step();
  const want = greedy64(refConfig(config), weights64(m), p, GREEDY.maxTokens);
  const hits = e.stats().prefixCacheHits;
  const after = (await e.generate([p], GREEDY))[0]!.outputs[0]!.tokenIds;
  t.same(after, want.tokens, 'after: the float64 greedy of the updated weights');
  t.equal(e.stats().prefixCacheHits, hits, 'no prefix hit on K/V computed with the old weights');
  t.not(JSON.stringify(after), JSON.stringify(before), 'the step did change the output');
  noLeak(t, e);
  e.dispose();
});

t.test('CPU: weights packed once for the GEMM (packWeights) give the outputs of packing per call', async (t) => {
  const prompts = Array.from({ length: 12 }, (_, i) => prompt(3 + i, 400 + i)); // decode steps of 12 rows: the tiled GEMM path
  const params = { temperature: 1, maxTokens: 10, seed: 8, ignoreEos: true };
  const out: number[][][][] = [];
  const lps: number[][] = [];
  for (const packWeights of [false, true]) {
    const e = new Engine(model, { blockSize: BS, kvCacheTokens: 1024, packWeights });
    const r = await e.generate(prompts, params);
    out.push(tokensOf(r));
    lps.push(r.flatMap((o) => o.outputs[0]!.logprobs));
    e.dispose();
  }
  t.same(out[1], out[0], 'same tokens');
  const err = Math.max(...lps[1]!.map((x, i) => Math.abs(x - lps[0]![i]!)));
  t.ok(err < 1e-5, `same log-probs to rounding (${err.toExponential(1)})`);
});

t.test('a bf16 model on the CPU (bf16 cache): log-probs agree with Model.logprobs of the same model', async (t) => {
  const m = Model.random(config, { seed: 7, std: 0.5, dtype: 'bf16' });
  const e = new Engine(m, { blockSize: BS, kvCacheTokens: 512 });
  t.equal(e.stats().kvBytesPerToken, 2 * config.numHiddenLayers * config.numKeyValueHeads * config.headDim * 2, 'two bytes an element');
  const out = await e.generate(PROMPTS, { temperature: 1, maxTokens: 8, seed: 2, ignoreEos: true });
  let worst = 0;
  for (const [i, o] of out.entries()) {
    const tokens = Int32Array.from([...PROMPTS[i]!, ...o.outputs[0]!.tokenIds]);
    const lp = (await m.logprobs({ tokens, cuSeqlens: Int32Array.from([0, tokens.length]) })).logprobs;
    o.outputs[0]!.logprobs.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - lp[PROMPTS[i]!.length - 1 + j]!))));
  }
  t.ok(worst < 0.05, `max |engine − model.logprobs| = ${worst.toFixed(4)} (bf16 activations on both paths)`);
  noLeak(t, e);
  e.dispose();
});
