// bench/decode: the generation engine's greedy decode and prefill throughput
// (torl.Engine: paged KV cache, continuous batching, one native generateStep
// per step) beside the same model in PyTorch with an ordinary dense KV cache
// (bench/decode_torch.py over bench/qwen2_torch.py's weights), measured in the
// same run, at batch 1, 16, 64, 256 with prompts of 128 random ids and 128
// generated tokens each (temperature 0, EOS ignored: every sequence generates
// exactly 128).
//   CPU: a tiny and a ~50M-parameter Qwen2 (random weights from
//        torl.createRandomCheckpoint, loaded by both sides), f32, beside Debian's
//        PyTorch CPU (/usr/bin/python3, python3-torch over OpenBLAS, the same
//        thread count). Each row also carries the memory-bandwidth roofline:
//        (weights + KV bytes read per decode step) / the bandwidth measured here
//        by a native read-modify-write (torl.ops.addInPlace over 2 x 256 MiB).
//   --gpu (as check:gpu runs it): the ~50M and a Qwen2.5-0.5B-shaped model in
//        bf16 on CUDA at batch 64 and 256 beside PyTorch CUDA (python3 on PATH;
//        bf16, the same dense-cache loop with SDPA), roofline at 4.3 TB/s.
//        Fails (exit 1) when CUDA is unavailable.
//   npm run bench -- decode [--gpu] [--models tiny,50m,0.5b] [--batches 1,16,64,256]
//                           [--prompt 128] [--output 128] [--output-256 N] [--no-torch] [--torch-untuned]
// How the engine is timed: one engine per (model, batch) with maxBatchTokens =
// batch x prompt, so its first step prefills every prompt and samples each
// one's first output token (what torch's prefill forward does); the other
// output - 1 steps decode one token per sequence. Each step is timed around
// `await engine.step()` (the engine's JS scheduling, input packing and token
// appending included), and the native generateStep inside it separately.
// Prefill tok/s = batch x prompt / first step; decode tok/s = batch x
// (output - 1) / the decode steps. Both sides first warm up on other prompts
// of the same shape (2 tokens; other prompts, so no prefix-cache hits).
// Last line: one JSON object with the figures and ratios (ours / torch).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torl from '../lib/index.js';
import type { ModelConfig } from '../lib/index.js';
import { emitJson, fmt, onGenerateStep, printTable, runPython, SYSTEM_PYTHON, time, TORCH_CPU_ENV } from './lib/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const ints = (s: string | undefined, dflt: number[]): number[] =>
  s === undefined ? dflt : s.split(',').map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 1) throw new Error(`bench/decode: '${x}' is not a positive integer`);
    return n;
  });
const gpu = argv.includes('--gpu');
const noTorch = argv.includes('--no-torch');
const P = ints(flag('--prompt'), [128])[0]!;
const O = ints(flag('--output'), [128])[0]!;
const O256 = ints(flag('--output-256'), [O])[0]!; // output length at batch >= 256 (time on 2 cores)
const batches = ints(flag('--batches'), gpu ? [64, 256] : [1, 16, 64, 256]);
if (O < 2 || O256 < 2) throw new Error('bench/decode: --output and --output-256 must be at least 2 (one prefill step, then decode steps)');
const STD = 0.1; // weight std: large enough that greedy tokens vary (0.02 repeats one token), so the two sides' outputs say something
const NOMINAL_GPU_BW = 4.3e12; // bytes/s, the issue's figure for the GPU roofline

const ids = { bosTokenId: 0, eosTokenId: 1, torchDtype: 'float32' as const };
const MODELS: Record<string, { name: string; config: ModelConfig }> = {
  tiny: {
    name: 'tiny',
    config: torl.qwen2Config({ hiddenSize: 128, intermediateSize: 512, numHiddenLayers: 4, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 32, vocabSize: 4096, tieWordEmbeddings: true, maxPositionEmbeddings: 4096, ...ids }),
  },
  '50m': {
    name: '~50M',
    config: torl.qwen2Config({ hiddenSize: 512, intermediateSize: 1408, numHiddenLayers: 8, numAttentionHeads: 8, numKeyValueHeads: 2, headDim: 64, vocabSize: 32000, tieWordEmbeddings: false, ropeTheta: 1e6, maxPositionEmbeddings: 32768, ...ids }),
  },
  '0.5b': { // Qwen2.5-0.5B's shapes (GPU only: too slow for a 2-core run)
    name: 'Qwen2.5-0.5B arch',
    config: torl.qwen2Config({ hiddenSize: 896, intermediateSize: 4864, numHiddenLayers: 24, numAttentionHeads: 14, numKeyValueHeads: 2, headDim: 64, vocabSize: 151936, tieWordEmbeddings: true, ropeTheta: 1e6, maxPositionEmbeddings: 32768, ...ids }),
  },
};
const modelKeys = (flag('--models') ?? (gpu ? '50m,0.5b' : 'tiny,50m')).split(',');
for (const k of modelKeys) if (!(k in MODELS)) throw new Error(`bench/decode: unknown model '${k}' (known: ${Object.keys(MODELS).join(', ')})`);

const b = torl.backends();
if (gpu && !b.cuda.available) {
  console.error(`bench/decode --gpu: CUDA is not available (${b.cuda.compiled ? b.cuda.reason ?? 'no device' : 'the addon was built without CUDA'})`);
  process.exit(1);
}
const device = gpu ? 'cuda' : 'cpu';
const elem = gpu ? 2 : 4; // bf16 on the GPU, f32 on the CPU
const python = gpu ? 'python3' : SYSTEM_PYTHON;
const cpuName = (/^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU').trim();

/** Seeded random prompts: B rows of P ids in [2, V) (0 and 1 are BOS/EOS). */
function prompts(B: number, V: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return Array.from({ length: B }, () => Array.from({ length: P }, () => 2 + Math.floor(next() * (V - 2))));
}

/** Bytes/s of a native read-modify-write over 2 x 256 MiB f32 (dst += src: reads 2, writes 1), on every pool thread. */
function bandwidth(): number {
  const n = 64 << 20;
  const dst = torl.zeros([n], { device }), src = torl.zeros([n], { device });
  const t = time(() => {
    torl.ops.addInPlace(dst, src);
    if (gpu) torl.synchronize(device);
  }, { minSeconds: 1, minReps: 5, warmup: 2 });
  dst.dispose();
  src.dispose();
  return (3 * n * 4) / t.median;
}

/** Bytes/s our GEMV reads weights at when they come from memory: the batch-1 decode's kernel, for comparison. */
function gemvRead(): number {
  const K = 512, M = (512 << 20) / elem / K;
  const w = torl.zeros([M, K], { device, dtype: gpu ? 'bf16' : 'f32' }), x = torl.zeros([1, K], { device, dtype: gpu ? 'bf16' : 'f32' });
  const t = time(() => {
    torl.ops.linear(x, w).dispose();
    if (gpu) torl.synchronize(device);
  }, { minSeconds: 1, minReps: 5, warmup: 2 });
  w.dispose();
  x.dispose();
  return (M * K * elem) / t.median;
}

/** Parameters, and the weight bytes one decode step reads (an untied embedding table is only gathered from: not counted). */
function weightFigures(c: ModelConfig): { params: number; readBytes: number } {
  let params = 0, read = 0;
  for (const p of torl.expectedParameters(c)) {
    const n = p.shape.reduce((x, y) => x * y, 1);
    params += n;
    if (!(p.name === 'embed.weight' && !c.tieWordEmbeddings)) read += n;
  }
  return { params, readBytes: read * elem };
}

interface StepTimes {
  wall: number[];
  native: number[];
}

interface TorlRun {
  prefillS: number;
  decodeS: number;
  tokens: number[][];
  steps: StepTimes;
  kvBytesPerToken: number;
  peakKvBytes: number;
  cacheBytes: number;
  prefixHits: number;
}

/** Times each native generateStep of `model` (the engine calls model.native.generateStep once per step). */
function nativeTimer(model: torl.Model): { last: number } {
  const clock = { last: 0 };
  onGenerateStep(model, (ms) => (clock.last = ms));
  return clock;
}

async function runTorl(model: torl.Model, clock: { last: number }, ps: number[][], warm: number[][], out: number): Promise<TorlRun> {
  const B = ps.length, bs = 16;
  const perSeq = Math.ceil((P + out) / bs) * bs;
  const engine = new torl.Engine(model, { blockSize: bs, kvCacheTokens: B * perSeq, maxNumSeqs: B, maxBatchTokens: B * P, maxModelLen: P + out });
  const params = { temperature: 0, maxTokens: out, ignoreEos: true };
  try {
    await engine.generate(warm, { ...params, maxTokens: 2 });
    const hits0 = engine.stats().prefixCacheHits;
    const reqs = ps.map((p) => engine.addRequest(p, params));
    const steps: StepTimes = { wall: [], native: [] };
    let minFree = engine.stats().freeBlocks;
    for (;;) {
      const s = engine.stats();
      minFree = Math.min(minFree, s.freeBlocks);
      if (s.running + s.waiting === 0) break;
      const t0 = performance.now();
      const events = await engine.step();
      steps.wall.push((performance.now() - t0) / 1000);
      steps.native.push(clock.last / 1000);
      if (steps.wall.length === 1 && events.length !== B) throw new Error(`bench/decode: the first step sampled ${events.length} of ${B} prompts (not one prefill step)`);
    }
    if (steps.wall.length !== out) throw new Error(`bench/decode: ${steps.wall.length} steps for ${out} tokens`);
    const st = engine.stats();
    const tokens = reqs.map((id) => engine.output(id).outputs[0]!.tokenIds);
    for (const id of reqs) engine.release(id);
    return {
      prefillS: steps.wall[0]!,
      decodeS: steps.wall.slice(1).reduce((x, y) => x + y, 0),
      tokens,
      steps,
      kvBytesPerToken: st.kvBytesPerToken,
      peakKvBytes: (st.numBlocks - minFree) * bs * st.kvBytesPerToken,
      cacheBytes: st.kvCacheBytes,
      prefixHits: st.prefixCacheHits - hits0,
    };
  } finally {
    engine.dispose();
  }
}

interface TorchRun {
  prefill_s: number;
  decode_s: number;
  tokens: number[][];
  dense_kv_bytes: number;
}
interface TorchOut {
  runs: TorchRun[];
  torch: string;
  threads: number;
  attention: string;
  params: number;
}

// PyTorch CPU's environment: the harness's TORCH_CPU_ENV (--torch-untuned drops it); none on a GPU.
const TORCH_ENV: Readonly<Record<string, string>> = gpu ? {} : TORCH_CPU_ENV;
const torchEnvNote = Object.keys(TORCH_ENV).length ? Object.entries(TORCH_ENV).map(([k, v]) => `${k}=${v}`).join(' ') : gpu ? '' : 'untuned';

let torchName = noTorch ? 'skipped (--no-torch)' : 'missing';
/** The reference on each (prompts, output) run, in one process (one model load); undefined entries where it could not run. */
function runTorch(dir: string, runs: { prompts: number[][]; max_tokens: number }[]): (TorchRun | undefined)[] {
  if (noTorch) return runs.map(() => undefined);
  const input = { dir, runs, threads: b.cpu.threads, device, dtype: gpu ? 'bf16' : 'f32', warmup: true };
  const r = runPython(python, join(here, 'decode_torch.py'), input, { ...process.env, ...TORCH_ENV });
  if (!r.ok) {
    torchName = `missing (${r.error})`;
    console.error(`bench/decode: torch reference unavailable: ${r.error}`);
    return runs.map(() => undefined);
  }
  const v = r.value as TorchOut;
  torchName = `torch ${v.torch} (${gpu ? 'cuda' : `${v.threads} threads`}, ${v.attention} attention)`;
  return v.runs;
}

/** Sequences whose outputs are equal, and the mean share of tokens before the first difference. */
function agreement(a: number[][], c: number[][]): { same: number; prefix: number } {
  let same = 0, prefix = 0;
  a.forEach((x, i) => {
    const y = c[i]!;
    let k = 0;
    while (k < x.length && x[k] === y[k]) k++;
    if (k === x.length && x.length === y.length) same++;
    prefix += k / x.length;
  });
  return { same, prefix: prefix / a.length };
}

const mib = (x: number) => `${(x / 2 ** 20).toFixed(x < 2 ** 24 ? 2 : 0)} MiB`;
const rat = (x: number, y: number | undefined) => (y ? `${(x / y).toFixed(2)}x` : 'n/a');
const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / Math.max(1, xs.length);

console.error(`bench/decode: measuring ${device} memory bandwidth…`);
const measuredBw = bandwidth();
const bw = gpu ? NOMINAL_GPU_BW : measuredBw;
const where = gpu ? `${b.cuda.devices[0] ?? 'cuda'} (bf16)` : `${cpuName}, ${b.cpu.threads} threads, ${b.cpu.simd} (f32)`;
console.log(`device: ${where}`);
console.log(`memory bandwidth: ${fmt(measuredBw / 1e9)} GB/s measured (native dst += src over 2 x 256 MiB, bytes read + written)${gpu ? `; roofline uses ${NOMINAL_GPU_BW / 1e12} TB/s` : ''}`);
const gemvBw = gemvRead();
console.log(`torl GEMV streaming read: ${fmt(gemvBw / 1e9)} GB/s (linear 1 x 512 over 512 MiB of weights: the batch-1 decode kernel)`);
if (!noTorch && torchEnvNote) console.log(`torch environment: ${torchEnvNote}`);

const work = mkdtempSync(join(tmpdir(), 'torl-bench-decode-'));
const main: (string | number)[][] = [];
const prefill: (string | number)[][] = [];
const memory: (string | number)[][] = [];
const split: (string | number)[][] = [];
const cases: Record<string, unknown>[] = [];
const modelInfo: Record<string, unknown> = {};
try {
  for (const key of modelKeys) {
    const { name, config: c } = MODELS[key]!;
    const dir = join(work, key);
    console.error(`bench/decode: ${name}: writing a random checkpoint…`);
    await torl.createRandomCheckpoint(dir, c, { seed: 1, std: STD, dtype: gpu ? 'bf16' : 'f32' });
    const model = await torl.Model.load(dir, { device });
    const clock = nativeTimer(model);
    const { params, readBytes } = weightFigures(c);
    modelInfo[key] = { name, params, weight_bytes_read_per_step: readBytes, hidden: c.hiddenSize, layers: c.numHiddenLayers, heads: c.numAttentionHeads, kv_heads: c.numKeyValueHeads, head_dim: c.headDim, vocab: c.vocabSize, tied: c.tieWordEmbeddings };
    const label = `${name} (${(params / 1e6).toFixed(params < 1e7 ? 2 : 1)}M)`;
    const runs = batches.map((B) => ({ prompts: prompts(B, c.vocabSize, 1000 + B), max_tokens: B >= 256 ? O256 : O }));
    // On the CPU the reference runs right before ours, batch by batch (both see the same machine load);
    // on a GPU once per model (one load of the checkpoint).
    const refs = gpu ? runTorch(dir, runs) : [];
    for (const [i, B] of batches.entries()) {
      const { prompts: ps, max_tokens: out } = runs[i]!;
      console.error(`bench/decode: ${name}, batch ${B}, output ${out}…`);
      const warm = prompts(B, c.vocabSize, 5000 + B);
      const ref = gpu ? refs[i] : runTorch(dir, [runs[i]!])[0];
      const ours = await runTorl(model, clock, ps, warm, out);
      const decTok = (B * (out - 1)) / ours.decodeS, preTok = (B * P) / ours.prefillS;
      const refDec = ref ? (B * (out - 1)) / ref.decode_s : undefined, refPre = ref ? (B * P) / ref.prefill_s : undefined;
      // Roofline: every decode step reads the weights once and each sequence's cached K/V; context P + i at step i = 1..out-1.
      const avgCtx = P + out / 2;
      const stepBytes = readBytes + B * ours.kvBytesPerToken * avgCtx;
      const roofTok = (B * bw) / stepBytes;
      const agree = ref ? agreement(ours.tokens, ref.tokens) : undefined;
      const outNote = out === O ? `${out}` : `${out}*`;
      main.push([label, `${B}`, outNote, decTok, refDec ?? 'n/a', rat(decTok, refDec), roofTok, `${((100 * decTok) / roofTok).toFixed(0)}%`, agree ? `${agree.same}/${B} (${(100 * agree.prefix).toFixed(0)}%)` : 'n/a']);
      prefill.push([label, `${B}`, `${B * P}`, preTok, refPre ?? 'n/a', rat(preTok, refPre)]);
      const denseMax = B * c.maxPositionEmbeddings * ours.kvBytesPerToken;
      memory.push([label, `${B}`, `${ours.kvBytesPerToken}`, `${B * (P + out - 1)}`, mib(ours.peakKvBytes), ref ? mib(ref.dense_kv_bytes) : 'n/a', `${mib(denseMax)} (${c.maxPositionEmbeddings})`, `${(denseMax / ours.peakKvBytes).toFixed(0)}x`]);
      const dw = ours.steps.wall.slice(1), dn = ours.steps.native.slice(1);
      split.push([label, `${B}`, 1e3 * mean(dw), 1e3 * mean(dn), 1e3 * (mean(dw) - mean(dn)), `${((100 * (mean(dw) - mean(dn))) / mean(dw)).toFixed(0)}%`, 1e3 * ours.steps.wall[0]!, 1e3 * ours.steps.native[0]!]);
      if (ours.prefixHits) console.error(`bench/decode: warning: ${ours.prefixHits} prefix-cache hits in the timed run`);
      cases.push({
        model: key, batch: B, prompt: P, output: out,
        torl: { decode_tok_s: decTok, prefill_tok_s: preTok, prefill_s: ours.prefillS, decode_s: ours.decodeS, decode_step_ms: 1e3 * mean(dw), native_step_ms: 1e3 * mean(dn), kv_bytes_per_token: ours.kvBytesPerToken, peak_kv_bytes: ours.peakKvBytes, prefix_hits: ours.prefixHits },
        torch: ref ? { decode_tok_s: refDec, prefill_tok_s: refPre, prefill_s: ref.prefill_s, decode_s: ref.decode_s, dense_kv_bytes: ref.dense_kv_bytes } : null,
        decode_ratio: refDec ? decTok / refDec : null,
        prefill_ratio: refPre ? preTok / refPre : null,
        roofline: { bytes_per_step: stepBytes, tok_s: roofTok, fraction: decTok / roofTok },
        dense_max_kv_bytes: denseMax,
        greedy_same: agree ? agree.same / B : null,
        greedy_prefix: agree?.prefix ?? null,
      });
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const bwNote = gpu ? `${NOMINAL_GPU_BW / 1e12} TB/s` : `${fmt(measuredBw / 1e9)} GB/s measured`;
printTable(
  `decode (greedy, prompt ${P}, output ${O}) on ${where} — torl.Engine vs ${torchName} with a dense KV cache`,
  ['model', 'batch', 'out', 'torl tok/s', 'torch tok/s', 'torl ÷ torch', 'roofline tok/s', 'of roofline', 'same tokens (prefix)'],
  main,
);
console.log(`roofline = batch x ${bwNote} / (weights read per step + batch x KV bytes per token x mean context ${P} + out/2); * = output cut by --output-256`);
console.log(`same tokens: sequences whose ${O} greedy tokens equal torch's (mean share before the first difference)`);
printTable(`prefill (batch x ${P} prompt tokens in one engine step; torch: one batched forward, LM head on the last position)`, ['model', 'batch', 'tokens', 'torl tok/s', 'torch tok/s', 'torl ÷ torch'], prefill);
printTable(
  'KV memory: the paged cache at its peak vs dense per-sequence caches',
  ['model', 'batch', 'KV B/token', 'tokens held', 'torl peak', `torch [B, ${P}+out]`, 'dense [B, maxPos]', 'saving'],
  memory,
);
printTable('where a step goes (ms, mean over decode steps; prefill = the first step)', ['model', 'batch', 'decode step', 'native', 'engine JS', 'JS share', 'prefill step', 'native'], split);
emitJson({
  bench: 'decode',
  device: gpu ? 'cuda' : 'cpu',
  where,
  cpu: cpuName,
  simd: b.cpu.simd,
  threads: b.cpu.threads,
  reference: torchName,
  bandwidth_gbs: measuredBw / 1e9,
  gemv_read_gbs: gemvBw / 1e9,
  torch_env: TORCH_ENV,
  roofline_bandwidth_gbs: bw / 1e9,
  prompt: P,
  output: O,
  models: modelInfo,
  cases,
});
