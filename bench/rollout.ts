// bench/rollout: the tool-integrated rollout's throughput (torl.Rollout: a sample that writes
// ```output pauses alone, its code runs, the observation is prefilled onto its cached context,
// and every other sample keeps decoding) on one batch of 64 sequences that each make
// C = 1, 2 or 3 tool calls, under a sandbox stub that answers after 100–500 ms, beside
//   - the same batch with no tool latency: the same engine, model, prompts and tokens, the
//     stub answering at once (0 ms), so the token work is identical and only the waiting is
//     gone. This is the "without tools" figure that with-tools is divided by (target ≥ 0.9;
//     ToRL's own rollout gets ≈ 0.5);
//   - ToRL's synchronous rounds (its _tir_generate, implemented here as the foil): each round
//     every unfinished sequence decodes until it stops at ```output (or ends); then all of the
//     round's calls run (in parallel, each with its latency) and the round waits for the
//     slowest; only then does any sequence go on. The foil uses held requests and
//     Engine.extend (no context is re-prefilled, unlike ToRL re-sending text to vLLM), so it
//     differs from torl.Rollout only by that barrier. Also with the 0 ms stub;
//   - both on the real PythonSandbox (warm pool, default workers and isolation), where the
//     code really runs; a sandbox that cannot start is reported and its rows skipped.
// tok/s = model tokens sampled (engine stats().sampledTokens: observation tokens are prefilled,
// not counted) per wall second of the rollout. Every row runs --repeats times (rows in turn),
// the fastest kept (the machine is shared); a fresh engine each time, one warm-up run first.
//
// The model: a tiny Qwen2 over the Qwen tokenizer (hidden 64, 2 layers, untied 151,669-token
// embedding and head), SFT-trained here (test/helpers/tool-model.ts's approach) to write three
// fixed tool-integrated responses token for token: 1, 2 and 3 calls, 30–70 model tokens per
// chunk (its code block included). Their text is filler, distinct single-token words (so the tiny model learns it
// in 100 AdamW steps, ~1 minute), and each call is `print("<distinct words>".title())`, whose
// output the stub knows (a fixed map) and Python prints alike. The SFT loss counts the response's
// model tokens only (observations are appended by the rollout, not predicted), fences and code
// weighted 4x. The 64 sequences are the three prompts cycled, decoded greedily, so every
// sequence follows its script; the bench checks that every sample's tokens are its script's and
// that it made its script's calls, and prints the count. The stub's latencies are uniform in
// [100, 500] ms from a seeded generator, drawn in call order (every row draws the same sequence).
//
//   npm run bench -- rollout [--batch 64] [--latency 100,500] [--seed 1] [--sft-steps 100] [--repeats 2] [--no-python]
import { readFileSync } from 'node:fs';

import * as torl from '../lib/index.js';
import type { CodeRunner, Engine, Model, RunRequest, RunResult, Tokenizer } from '../lib/index.js';
import { qwenTokenizerDir } from '../test/tokenizer/fixture.js';
import { emitJson, fmt, onGenerateStep, printTable } from './lib/harness.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const int = (name: string, dflt: number, min = 1): number => {
  const v = flag(name);
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`bench/rollout: ${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
};
const BATCH = int('--batch', 64);
const SEED = int('--seed', 1, 0);
const SFT_STEPS = int('--sft-steps', 100);
const SFT_EXTRA = 40; // further steps (at the final LR) if the scripts are not reproduced yet
const [LAT_MIN, LAT_MAX] = (flag('--latency') ?? '100,500').split(',').map(Number) as [number, number];
if (!(LAT_MIN >= 0 && LAT_MAX >= LAT_MIN)) throw new Error('bench/rollout: --latency must be MIN,MAX in ms');
const noPython = argv.includes('--no-python');
const REPEATS = int('--repeats', 2);
const MAX_CALLS = 3;
const MAX_RESPONSE = 320;
const OBS_CHARS = 256;
const STRUCTURE_WEIGHT = 4; // SFT loss weight of the non-filler model tokens (fences, code): 100 steps reproduce all three scripts

const b = torl.backends();
const cpuName = (/^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU').trim();
const where = `${cpuName}, ${b.cpu.threads} threads, ${b.cpu.simd} (f32)`;

// --- the scripts -----------------------------------------------------------------

/** Seeded uniform [0, 1) (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface Script {
  prompt: string;
  /** Model text, observation text, model text, …: even entries the model's, odd ones the observations' inner text. */
  parts: string[];
  /** Each call's program and the stdout Python gives it. */
  calls: { code: string; stdout: string }[];
}

/**
 * Three scripts making 1, 2 and 3 calls. WORDS[s][k] is the number of filler words (one token each) of
 * script s's chunk k; each chunk before a call ends with its ```python block and ```output.
 */
const WORDS = [[44, 32], [38, 52, 30], [50, 34, 46, 36]];

function makeScripts(tok: Tokenizer): Script[] {
  const words: string[] = [];
  for (let id = 0; id < tok.vocabSize && words.length < 4000; id++) {
    const s = tok.decode([id]);
    if (/^ [a-z]{4,9}$/.test(s)) words.push(s);
  }
  const r = rng(12345);
  for (let i = words.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [words[i], words[j]] = [words[j]!, words[i]!];
  }
  let w = 0;
  const take = (n: number) => words.slice(w, (w += n)).join('');
  return WORDS.map((lens, s) => {
    const parts: string[] = [];
    const calls: Script['calls'] = [];
    lens.forEach((n, k) => {
      let text = take(n);
      if (k < lens.length - 1) {
        const lit = take(3 + k).trimStart();
        const code = `print("${lit}".title())\n`;
        const stdout = `${lit.replace(/\b[a-z]/g, (c) => c.toUpperCase())}\n`;
        calls.push({ code, stdout });
        text += `:\n\`\`\`python\n${code}\`\`\`\n${torl.OUTPUT_FENCE}`;
        parts.push(text, stdout.trimEnd());
      } else parts.push(text);
    });
    return { prompt: `Question${s}:${take(6)}`, parts, calls };
  });
}

/** A script's tokens: prompt, then each part (observations wrapped and tokenised as the rollout does), then EOS; obs marks observation tokens. */
function segments(tok: Tokenizer, s: Script): Segments {
  const enc = (x: string) => tok.encode(x, { addSpecialTokens: false });
  const parts = s.parts.map((p, i) => (i % 2 === 1 ? enc(`\n${p}\n\`\`\`\n`) : enc(p)));
  return { prompt: enc(s.prompt), response: [...parts.flat(), tok.eosTokenId!], obs: [...parts.flatMap((p, i) => p.map(() => i % 2 === 1)), false] };
}

interface Segments {
  prompt: number[];
  response: number[];
  obs: boolean[];
}

// --- the model ---------------------------------------------------------------------

const same = (a: readonly number[], c: readonly number[]) => a.length === c.length && a.every((x, i) => x === c[i]);

/** Where a greedy rollout (0 ms stub) leaves each script (null: reproduced token for token; only the model's tokens are predicted, observations are appended). */
async function reproduces(model: Model, tok: Tokenizer, segs: Segments[], answers: ReadonlyMap<string, string>): Promise<(string | null)[]> {
  const e = new torl.Engine(model, { tokenizer: tok, kvCacheTokens: 4096, maxModelLen: 512 });
  try {
    const r = new torl.Rollout(e, { tokenizer: tok, sandbox: new StubSandbox(answers, 0, 0, 0), maxToolCalls: MAX_CALLS, maxResponseTokens: MAX_RESPONSE, observation: { maxChars: OBS_CHARS } });
    const { samples } = await r.generate(segs.map((g) => g.prompt), { temperature: 0 });
    return samples.map((x, i) => {
      const w = segs[i]!.response, g = x.tokenIds;
      let k = 0;
      while (k < w.length && w[k] === g[k]) k++;
      if (k === w.length && g.length === w.length) return null;
      return `script ${i} leaves its script at token ${k}/${w.length}: ${JSON.stringify(tok.decode(g.slice(k, k + 1)))} for ${JSON.stringify(tok.decode(w.slice(k, k + 1)))} after ${JSON.stringify(tok.decode(w.slice(Math.max(0, k - 6), k)))}`;
    });
  } finally {
    e.dispose();
  }
}

/**
 * SFT until a greedy rollout reproduces every script: cosine over SFT_STEPS, then up to SFT_EXTRA more at
 * its final LR. The loss counts the response's model tokens only (not the prompt's, not the observations':
 * the rollout appends those).
 */
async function toolModel(tok: Tokenizer, segs: Segments[], answers: ReadonlyMap<string, string>): Promise<{ model: Model; steps: number; seconds: number; ok: (string | null)[] }> {
  const config = torl.qwen2Config({
    hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 16,
    vocabSize: tok.vocabSize, bosTokenId: 0, eosTokenId: tok.eosTokenId!, maxPositionEmbeddings: 512, tieWordEmbeddings: false,
  });
  const model = torl.Model.random(config, { seed: 3, std: 0.02 });
  const seqs = segs.map((g) => [...g.prompt, ...g.response]);
  const tokens = Int32Array.from(seqs.flat());
  const cu = Int32Array.from([0, ...seqs.map((_, i) => seqs.slice(0, i + 1).reduce((a, x) => a + x.length, 0))]);
  // mask[t] weighs the target of position t, i.e. token t + 1: a model token of the response
  // model token of the response, weighted STRUCTURE_WEIGHT where it is not a filler word (fences, code, EOS:
  // the tokens whose role the tiny model must read from the context, not from the previous token alone).
  const structural = (id: number) => !/^ [a-z]{4,9}$/.test(tok.decode([id]));
  const mask = Float32Array.from(segs.flatMap((g) => [...g.prompt.slice(1).map(() => 0), ...g.obs.map((o, k) => (o ? 0 : structural(g.response[k]!) ? STRUCTURE_WEIGHT : 1)), 0]));
  const opt = new torl.AdamW(model, { lr: 1e-2, weightDecay: 0, schedule: { type: 'cosine', warmupSteps: 10, totalSteps: SFT_STEPS, minLr: 1e-3 } });
  const t0 = performance.now();
  let steps = 0;
  let ok: (string | null)[] = [];
  const train = async (n: number) => {
    for (let i = 0; i < n; i++, steps++) {
      await model.forwardBackward({ tokens, cuSeqlens: cu, mask }, { type: 'crossEntropy' });
      await opt.step();
      opt.zeroGrad();
    }
  };
  await train(SFT_STEPS);
  for (;;) {
    ok = await reproduces(model, tok, segs, answers);
    if (ok.every((x) => x === null) || steps >= SFT_STEPS + SFT_EXTRA) break;
    console.error(`bench/rollout: SFT step ${steps}: ${ok.filter((x) => x !== null).join('; ')}; 10 more steps`);
    await train(10);
  }
  return { model, steps, seconds: (performance.now() - t0) / 1000, ok };
}

// --- the sandboxes -----------------------------------------------------------------

/** Answers the scripts' programs as Python does, after a seeded uniform [min, max] ms delay (0: at once). */
class StubSandbox implements CodeRunner {
  private readonly next: () => number;
  private id = 0;
  constructor(private readonly answers: ReadonlyMap<string, string>, private readonly min: number, private readonly max: number, seed: number) {
    this.next = rng(seed);
  }
  async run(req: RunRequest): Promise<RunResult> {
    const delay = this.min + (this.max - this.min) * this.next();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const stdout = this.answers.get(req.code);
    const base = { id: ++this.id, wallMs: delay, cpuMs: 0, truncated: false };
    return stdout === undefined
      ? { ...base, status: 'error', returnCode: 1, stdout: '', stderr: 'NameError: the stub knows no such program\n' }
      : { ...base, status: 'ok', returnCode: 0, stdout, stderr: '' };
  }
  async close(): Promise<void> {}
}

// --- the rows ----------------------------------------------------------------------

/** Every native step (the engine calls model.native.generateStep once per step): rows sampled and milliseconds. */
function stepClock(model: Model): { steps: { rows: number; ms: number }[] } {
  const clock = { steps: [] as { rows: number; ms: number }[] };
  onGenerateStep(model, (ms, rows) => clock.steps.push({ rows, ms }));
  return clock;
}
type Clock = ReturnType<typeof stepClock>;

interface Row {
  wallMs: number;
  sampledTokens: number;
  steps: number;
  busyMs: number;
  /** The row's native steps: rows sampled and ms. */
  stepLog: { rows: number; ms: number }[];
  calls: number;
  latencies: number[];
  /** Engine steps run while each call was out. */
  stepsWhileWaiting: number[];
  /** Per sample: its tokens are its script's, and it made its script's calls. */
  followed: number;
  callsPerSample: number[];
  /** The longest one sample spent waiting for its calls, in all (async: its pausedMs). */
  maxSampleWaitMs: number;
  rounds?: number;
  /** Sync: wall time of the rounds' tool phases (the engine idle, waiting for the slowest call). */
  barrierMs?: number;
}

const busy = (clock: Clock, from: number) => {
  const stepLog = clock.steps.slice(from);
  return { stepLog, busyMs: stepLog.reduce((a, x) => a + x.ms, 0) };
};
const mean = (xs: number[]) => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : 0);

function newEngine(model: Model, tok: Tokenizer): Engine {
  return new torl.Engine(model, { tokenizer: tok, kvCacheTokens: BATCH * 512, maxNumSeqs: BATCH, maxModelLen: 512 });
}

/** torl.Rollout, asynchronous. */
async function asyncRow(model: Model, clock: Clock, tok: Tokenizer, sandbox: CodeRunner, prompts: number[][], want: number[][], wantCalls: number[]): Promise<Row> {
  const engine = newEngine(model, tok);
  try {
    const rollout = new torl.Rollout(engine, { tokenizer: tok, sandbox, maxToolCalls: MAX_CALLS, maxResponseTokens: MAX_RESPONSE, observation: { maxChars: OBS_CHARS } });
    const log0 = clock.steps.length;
    const { samples, stats } = await rollout.generate(prompts, { temperature: 0 });
    const calls = samples.flatMap((s) => s.toolCalls);
    return {
      wallMs: stats.wallMs,
      sampledTokens: stats.sampledTokens,
      steps: stats.steps,
      ...busy(clock, log0),
      calls: stats.toolCalls,
      latencies: calls.map((c) => c.latencyMs),
      stepsWhileWaiting: calls.map((c) => c.stepsWhileWaiting),
      followed: samples.filter((s, i) => same(s.tokenIds, want[i]!) && s.toolCalls.length === wantCalls[i]).length,
      callsPerSample: samples.map((s) => s.toolCalls.length),
      maxSampleWaitMs: Math.max(...samples.map((s) => s.pausedMs)),
    };
  } finally {
    engine.dispose();
  }
}

/**
 * ToRL's synchronous rounds (the foil): every unfinished sequence decodes until it stops; then all the
 * round's calls run in parallel and the round waits for the last; then every sequence that called goes on
 * (held requests + Engine.extend: the cached context is kept, as torl.Rollout keeps it). The code
 * extraction, observation text and its tokens are exactly torl.Rollout's.
 */
async function syncRow(model: Model, clock: Clock, tok: Tokenizer, sandbox: CodeRunner, prompts: number[][], want: number[][], wantCalls: number[]): Promise<Row> {
  const engine = newEngine(model, tok);
  try {
    const t0 = performance.now();
    const s0 = engine.stats();
    const log0 = clock.steps.length;
    const params = { temperature: 0, maxTokens: MAX_RESPONSE, stop: [torl.OUTPUT_FENCE], includeStopStrInOutput: true };
    const seqs = prompts.map((p) => ({ id: engine.addRequest(p, params, { hold: true }), chunkStart: 0, callsLeft: MAX_CALLS, calls: 0, done: false, tokens: [] as number[], waitMs: 0 }));
    const latencies: number[] = [], stepsWhileWaiting: number[] = [];
    let rounds = 0, barrierMs = 0;
    for (;;) {
      const active = seqs.filter((s) => !s.done);
      if (active.length === 0) break;
      rounds++;
      await Promise.all(active.map((s) => engine.wait(s.id))); // the decode phase: until every one has stopped
      const tb = performance.now();
      const stepsB = engine.stats().steps;
      const round = active.flatMap((s) => {
        const out = engine.output(s.id).outputs[0]!;
        s.tokens = out.tokenIds;
        if (out.stopReason !== torl.OUTPUT_FENCE || s.callsLeft === 0) {
          s.done = true;
          engine.release(s.id);
          return [];
        }
        s.callsLeft--;
        s.calls++;
        const chunk = tok.decode(s.tokens.slice(s.chunkStart), { skipSpecialTokens: true });
        const code = torl.extractProgram(chunk.slice(0, chunk.lastIndexOf(torl.OUTPUT_FENCE)));
        return [{ s, code }];
      });
      // The tool phase: all of the round's calls at once; nothing decodes until the slowest is back.
      const results = await Promise.all(
        round.map(async ({ code }) => {
          const tc = performance.now();
          const r = code === null ? null : await sandbox.run({ code });
          latencies.push(performance.now() - tc);
          return r;
        }),
      );
      const roundMs = performance.now() - tb;
      barrierMs += roundMs;
      for (const { s } of round) s.waitMs += roundMs; // each caller waits for the round's slowest call
      for (const _ of round) stepsWhileWaiting.push(engine.stats().steps - stepsB);
      round.forEach(({ s }, i) => {
        const r = results[i]!;
        const obs = r === null ? [] : tok.encode(`\n${torl.formatObservation(r, { maxChars: OBS_CHARS })}\n\`\`\`\n`, { addSpecialTokens: false });
        s.chunkStart = s.tokens.length + obs.length;
        engine.extend(s.id, 0, obs, { maxTokens: MAX_RESPONSE - s.chunkStart, stop: s.callsLeft > 0 ? [torl.OUTPUT_FENCE] : [] });
      });
    }
    const s1 = engine.stats();
    return {
      wallMs: performance.now() - t0,
      sampledTokens: s1.sampledTokens - s0.sampledTokens,
      steps: s1.steps - s0.steps,
      ...busy(clock, log0),
      calls: latencies.length,
      latencies,
      stepsWhileWaiting,
      followed: seqs.filter((s, i) => same(s.tokens, want[i]!) && s.calls === wantCalls[i]).length,
      callsPerSample: seqs.map((s) => s.calls),
      maxSampleWaitMs: Math.max(...seqs.map((s) => s.waitMs)),
      rounds,
      barrierMs,
    };
  } finally {
    engine.dispose();
  }
}

// --- run -----------------------------------------------------------------------------

const tok = await torl.loadTokenizer(qwenTokenizerDir());
const scripts = makeScripts(tok);
const segs = scripts.map((s) => segments(tok, s));
const answers = new Map(scripts.flatMap((s) => s.calls.map((c) => [c.code, c.stdout] as const)));
console.log(`device: ${where}`);
console.error(`bench/rollout: SFT of the tiny tool model on ${scripts.length} scripts (${segs.reduce((a, g) => a + g.prompt.length + g.response.length, 0)} tokens)…`);
const sft = await toolModel(tok, segs, answers);
const { model } = sft;
const clock = stepClock(model);
const params = [...model.parameters()].reduce((a, [, p]) => a + p.shape.reduce((x, y) => x * y, 1), 0);
const chunkTokens = scripts.map((s) => {
  const enc = (x: string) => tok.encode(x, { addSpecialTokens: false }).length;
  return s.parts.filter((_, i) => i % 2 === 0).map(enc);
});
console.log(
  `model: tiny Qwen2 (hidden 64, 2 layers, untied ${tok.vocabSize}-token vocabulary, ${(params / 1e6).toFixed(1)}M parameters), ` +
    `SFT ${sft.steps} AdamW steps in ${fmt(sft.seconds)} s; scripts reproduced by a greedy rollout: ${sft.ok.filter((x) => x === null).length}/${sft.ok.length}${sft.ok.some((x) => x !== null) ? ` (${sft.ok.filter((x) => x !== null).join('; ')})` : ''}`,
);
console.log(`scripts: ${scripts.map((s, i) => `C = ${s.calls.length} (model tokens per chunk ${chunkTokens[i]!.join(', ')}; response ${segs[i]!.response.length} tokens)`).join('; ')}`);

const idx = Array.from({ length: BATCH }, (_, i) => i % scripts.length);
const prompts = idx.map((i) => segs[i]!.prompt);
const want = idx.map((i) => segs[i]!.response);
const wantCalls = idx.map((i) => scripts[i]!.calls.length);
const expectedCalls = wantCalls.reduce((a, x) => a + x, 0);
console.log(`batch: ${BATCH} sequences (the ${scripts.length} prompts cycled), greedy; ${expectedCalls} tool calls in all; stub latency uniform ${LAT_MIN}–${LAT_MAX} ms (seed ${SEED})`);

const stub = (lo: number, hi: number) => new StubSandbox(answers, lo, hi, SEED);
console.error('bench/rollout: warm-up row…');
await asyncRow(model, clock, tok, stub(0, 0), prompts, want, wantCalls);

interface Case {
  key: string;
  label: string;
  latency: string;
  run: () => Promise<Row>;
  /** The faster of its REPEATS runs (the machine is shared: its load swings). */
  row: Row | null;
  walls: number[];
  note?: string;
}
const ASYNC = 'torl.Rollout (async)', SYNC = 'ToRL sync rounds (foil)', STUB = `stub ${LAT_MIN}–${LAT_MAX} ms`, NONE = 'none (0 ms stub)';
const cases: Case[] = [];
const add = (key: string, label: string, latency: string, run: () => Promise<Row>) => cases.push({ key, label, latency, run, row: null, walls: [] });
add('no_latency', ASYNC, NONE, () => asyncRow(model, clock, tok, stub(0, 0), prompts, want, wantCalls));
add('async', ASYNC, STUB, () => asyncRow(model, clock, tok, stub(LAT_MIN, LAT_MAX), prompts, want, wantCalls));
add('sync', SYNC, STUB, () => syncRow(model, clock, tok, stub(LAT_MIN, LAT_MAX), prompts, want, wantCalls));
add('sync_no_latency', SYNC, NONE, () => syncRow(model, clock, tok, stub(0, 0), prompts, want, wantCalls));

let pythonNote = 'skipped (--no-python)';
let sandbox: torl.PythonSandbox | undefined;
if (!noPython) {
  try {
    sandbox = new torl.PythonSandbox();
    await sandbox.warm();
    const info = await sandbox.info();
    pythonNote = `PythonSandbox: ${info.isolation} isolation (secure ${info.guarantees.secure}), ${info.workers} workers, python ${info.python.version}`;
  } catch (e) {
    pythonNote = `PythonSandbox could not start: ${(e as Error).message}`;
    console.error(`bench/rollout: ${pythonNote}`);
    await sandbox?.close().catch(() => undefined);
    sandbox = undefined;
  }
  const sb = sandbox;
  for (const [key, label] of [['python_async', ASYNC], ['python_sync', SYNC]] as const) {
    if (sb) add(key, label, 'PythonSandbox', async () => { await sb.warm(); return (key === 'python_async' ? asyncRow : syncRow)(model, clock, tok, sb, prompts, want, wantCalls); });
    else cases.push({ key, label, latency: 'PythonSandbox', run: async () => { throw new Error('no sandbox'); }, row: null, walls: [], note: 'skipped: no sandbox' });
  }
}
try {
  for (let rep = 0; rep < REPEATS; rep++)
    for (const c of cases) {
      if (c.note) continue;
      console.error(`bench/rollout: ${c.label}, ${c.latency} (run ${rep + 1}/${REPEATS})…`);
      const r = await c.run();
      c.walls.push(r.wallMs / 1000);
      if (!c.row || r.wallMs < c.row.wallMs) c.row = r;
    }
} finally {
  await sandbox?.close();
}

/** Mean decode step (engine.step, ms) of this model at `rows` sequences: the cost a rollout's smaller steps pay. */
async function decodeStepMs(rows: number): Promise<number> {
  const engine = newEngine(model, tok);
  try {
    const r = rng(7 + rows);
    for (let i = 0; i < rows; i++) engine.addRequest(Array.from({ length: 16 }, () => 2 + Math.floor(r() * 100000)), { temperature: 0, maxTokens: 41, ignoreEos: true });
    await engine.step(); // the prefill
    const t0 = performance.now();
    for (let i = 0; i < 40; i++) await engine.step();
    return (performance.now() - t0) / 40;
  } finally {
    engine.dispose();
  }
}
console.error('bench/rollout: decode step time by batch…');
const STEP_ROWS = [...new Set([1, 2, 4, 8, 9, 16, 32, 64, BATCH])].filter((x) => x <= BATCH);
const stepMs: number[] = [];
for (const rows of STEP_ROWS) stepMs.push(await decodeStepMs(rows));

const tps = (r: Row) => r.sampledTokens / (r.wallMs / 1000);
const byKey = (k: string) => cases.find((c) => c.key === k)?.row ?? undefined;
const base = byKey('no_latency')!;
const rows = cases.map(({ label, latency, row, note }) => {
  if (!row) return [label, latency, note ?? 'skipped', '', '', '', '', '', '', '', ''];
  const w = row.stepsWhileWaiting;
  return [
    label,
    latency,
    row.wallMs / 1000,
    row.sampledTokens,
    tps(row),
    `${(tps(row) / tps(base)).toFixed(2)}`,
    `${row.steps}${row.rounds ? ` (${row.rounds} rounds)` : ''}`,
    `${row.calls}`,
    mean(row.latencies),
    w.length ? `${fmt(mean(w))} / ${Math.min(...w)} / ${Math.max(...w)}` : '-',
    `${(100 * (1 - row.busyMs / row.wallMs)).toFixed(0)}%`,
    `${row.followed}/${BATCH}`,
  ];
});
printTable(
  `rollout: ${BATCH} sequences, C = 1..${MAX_CALLS} calls each (${expectedCalls} in all), greedy, on ${where}`,
  ['rollout', 'tool latency', 'wall s', 'model tokens', 'tok/s', 'vs no latency', 'engine steps', 'calls', 'latency ms', 'steps while waiting (mean/min/max)', 'engine idle', 'followed script'],
  rows,
);
const BANDS: [number, number][] = [[1, 8], [9, 32], [33, BATCH]];
printTable(
  'where the engine time goes: native steps by the number of rows they sample (count, seconds)',
  ['rollout', 'tool latency', ...BANDS.map(([lo, hi]) => `${lo}–${hi} rows`), 'rows/step', 'engine busy s', 'longest wait of one sample s'],
  cases.filter((c) => c.row).map(({ label, latency, row }) => [
    label,
    latency,
    ...BANDS.map(([lo, hi]) => {
      const xs = row!.stepLog.filter((x) => x.rows >= lo && x.rows <= hi);
      return `${xs.length} (${fmt(xs.reduce((a, x) => a + x.ms, 0) / 1000)})`;
    }),
    mean(row!.stepLog.map((x) => x.rows)),
    row!.busyMs / 1000,
    row!.maxSampleWaitMs / 1000,
  ]),
);
printTable(
  'decode step of this model by rows (engine.step, ms; 40 greedy steps each)',
  ['rows', ...STEP_ROWS.map(String)],
  [['ms / step', ...stepMs], ['ms / row', ...stepMs.map((x, i) => x / STEP_ROWS[i]!)]],
);
const a = byKey('async'), s = byKey('sync'), pa = byKey('python_async'), ps = byKey('python_sync');
const ratio = (x: Row | undefined, y: Row | undefined) => (x && y ? tps(x) / tps(y) : null);
console.log(`engine idle = share of the wall time outside the native generateStep calls (JS scheduling included); followed script = tokens and call count exactly the script's`);
console.log(`with tools / without tools (async, stub ${LAT_MIN}–${LAT_MAX} ms): ${fmt(ratio(a, base)!)} (target ≥ 0.9; ToRL's own rollout ≈ 0.5)`);
console.log(`ToRL sync rounds / without tools: ${fmt(ratio(s, base)!)}; async / sync rounds: ${fmt(ratio(a, s)!)}`);
if (s?.barrierMs !== undefined) console.log(`sync rounds: ${s.rounds} rounds, ${fmt(s.barrierMs / 1000)} s of ${fmt(s.wallMs / 1000)} s waiting at the barrier for the round's slowest call`);
if (a) {
  const small = (r: Row) => r.stepLog.filter((x) => x.rows <= 8);
  const sm = small(a), smMs = sm.reduce((acc, x) => acc + x.ms, 0);
  console.log(
    `engine time for the same tokens: async ${fmt(a.busyMs / 1000)} s in ${a.steps} steps (idle ${(100 * (1 - a.busyMs / a.wallMs)).toFixed(0)}% of its wall) vs ${fmt(base.busyMs / 1000)} s in ${base.steps} without latency` +
      `${s ? ` and ${fmt(s.busyMs / 1000)} s in ${s.steps} for the sync rounds` : ''}: paused samples leave more, smaller steps; its ${sm.length} steps of 1–8 rows took ${fmt(smMs / 1000)} s (${fmt(sm.length ? smMs / sm.length : 0)} ms each)`,
  );
  console.log(`longest total wait of one sample: async ${fmt(a.maxSampleWaitMs / 1000)} s (its calls' own latencies), sync rounds ${s ? fmt(s.maxSampleWaitMs / 1000) : 'n/a'} s (the rounds' slowest calls)`);
}
console.log(pa ? `real sandbox: ${pythonNote}; async ${fmt(tps(pa))} tok/s (${fmt(ratio(pa, base)!)} of no latency), mean tool latency ${fmt(mean(pa.latencies))} ms; sync rounds ${ps ? `${fmt(tps(ps))} tok/s (async / sync ${fmt(ratio(pa, ps)!)})` : 'n/a'}` : `real sandbox: ${pythonNote}`);

const json = (r: Row | null) =>
  r && {
    wall_s: r.wallMs / 1000,
    sampled_tokens: r.sampledTokens,
    tok_s: tps(r),
    steps: r.steps,
    engine_busy_s: r.busyMs / 1000,
    tool_calls: r.calls,
    tool_latency_mean_ms: mean(r.latencies),
    tool_latency_max_ms: r.latencies.length ? Math.max(...r.latencies) : 0,
    steps_while_waiting_mean: mean(r.stepsWhileWaiting),
    steps_while_waiting_min: r.stepsWhileWaiting.length ? Math.min(...r.stepsWhileWaiting) : 0,
    max_sample_wait_s: r.maxSampleWaitMs / 1000,
    step_bands: Object.fromEntries(BANDS.map(([lo, hi]) => {
      const xs = r.stepLog.filter((x) => x.rows >= lo && x.rows <= hi);
      return [`${lo}-${hi}`, { steps: xs.length, s: xs.reduce((acc, x) => acc + x.ms, 0) / 1000 }];
    })),
    followed_script: r.followed,
    ...(r.rounds !== undefined ? { rounds: r.rounds, barrier_s: r.barrierMs! / 1000 } : {}),
  };
emitJson({
  bench: 'rollout',
  device: 'cpu',
  where,
  cpu: cpuName,
  simd: b.cpu.simd,
  threads: b.cpu.threads,
  batch: BATCH,
  max_tool_calls: MAX_CALLS,
  tool_calls: expectedCalls,
  latency_ms: [LAT_MIN, LAT_MAX],
  seed: SEED,
  model: { hidden: 64, layers: 2, vocab: tok.vocabSize, params, sft_steps: sft.steps, sft_s: sft.seconds, scripts_reproduced: sft.ok.filter((x) => x === null).length },
  scripts: scripts.map((sc, i) => ({ calls: sc.calls.length, chunk_tokens: chunkTokens[i], response_tokens: segs[i]!.response.length })),
  sandbox: pythonNote,
  repeats: REPEATS,
  decode_step_ms: Object.fromEntries(STEP_ROWS.map((r, i) => [r, stepMs[i]])),
  cases: Object.fromEntries(cases.map((c) => [c.key, c.row ? { ...json(c.row), walls_s: c.walls } : null])),
  with_tools_over_without: ratio(a, base),
  sync_over_without: ratio(s, base),
  async_over_sync: ratio(a, s),
  python_over_without: ratio(pa, base),
  python_async_over_sync: ratio(pa, ps),
});
