// The training ops' benchmark, beside PyTorch CPU (bench/ops/train_ops.py) on the
// same shapes and thread count:
//   lmHeadLogprob (+ backward) vs the naive full-logits log_softmax + gather +
//     entropy with autograd; our scratch memory at two vocabulary sizes
//   adamw over a ~50M-parameter list vs torch.optim.AdamW(foreach=True)
//   sample (temperature + top-p) vs softmax/sort/cumsum/multinomial
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torl from '../../lib/index.js';
import { printTable, runPython, SYSTEM_PYTHON, time, torchCpuEnv } from '../lib/harness.js';
import type { OpBench, OpRow } from '../ops.js';

const here = dirname(fileURLToPath(import.meta.url));

/** n values in [-scale, scale) from a fast LCG (benchmark data, not statistics). */
export function fill(n: number, scale: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 31 - 1) * scale;
  }
  return a;
}

interface TorchOut {
  torch: string;
  lmhead: { fwd: number; fwdBwd: number; peakRssGrowth: number }[];
  adamw: { step: number };
  sample: { rowsPerSec: number };
}

const MB = 2 ** 20;

export function trainBench(quick: boolean): OpBench {
  const threads = torl.backends().cpu.threads;
  const D = 896, T = quick ? 64 : 128, temperature = 0.6;
  const vRef = quick ? 8192 : 32768; // the vocabulary timed beside torch (its reference BLAS is slow)
  const vBig = quick ? 32768 : 151936; // Qwen2's vocabulary: ours only, for speed and scratch memory
  const adamSizes = Array.from({ length: quick ? 2 : 10 }, () => [896 * 4864, 896 * 896, 896]).flat();
  const sampleCfg = { B: quick ? 16 : 64, V: 151936, temperature, topP: 0.9 };
  const reps = quick ? 2 : 3;

  const ref = runPython(SYSTEM_PYTHON, join(here, 'train_ops.py'), {
    threads,
    reps,
    lmhead: [{ T, D, V: vRef, temperature }],
    adamw: adamSizes,
    sample: sampleCfg,
  }, torchCpuEnv());
  const torch = ref.ok ? (ref.value as TorchOut) : undefined;
  const note = ref.ok ? '' : `reference missing: ${ref.error}`;

  // LM head: forward, and forward + backward (both upstream gradients).
  const lmHead = (V: number, minReps: number) => {
    const H = torl.tensor(fill(T * D, 1, 1), [T, D]), W = torl.tensor(fill(V * D, 0.05, 2), [V, D]);
    const I = torl.tensor(Int32Array.from({ length: T }, (_, t) => (t * 7919) % V), [T]);
    const gl = torl.tensor(fill(T, 1, 3), [T]), gh = torl.tensor(fill(T, 1, 4), [T]);
    let fScratch = 0, bScratch = 0;
    const fwd = time(() => {
      fScratch = torl.ops.lmHeadLogprob(H, W, I, { temperature }).scratchBytes;
    }, { minReps, minSeconds: 0, warmup: 0 });
    const both = time(() => {
      const f = torl.ops.lmHeadLogprob(H, W, I, { temperature });
      bScratch = torl.ops.lmHeadLogprobBackward(gl, gh, H, W, I, f.lse, f.entropy, { temperature }).scratchBytes;
    }, { minReps, minSeconds: 0, warmup: 0 });
    return { fwd: fwd.median, fwdBwd: both.median, scratch: Math.max(fScratch, bScratch) };
  };
  const small = lmHead(vRef, reps);
  const big = lmHead(vBig, 1);
  const gflop = (V: number, passes: number) => (passes * 2 * T * D * V) / 1e9;

  // AdamW over the list (params f32, grads f32, state f32).
  const P = adamSizes.map((n, i) => torl.tensor(fill(n, 1, 10 + i), [n]));
  const G = adamSizes.map((n, i) => torl.tensor(fill(n, 0.1, 100 + i), [n]));
  const M = adamSizes.map((n) => torl.zeros([n])), Vs = adamSizes.map((n) => torl.zeros([n]));
  const nParams = adamSizes.reduce((a, b) => a + b, 0);
  let step = 0;
  const adam = time(() => {
    torl.ops.adamw(P, G, M, Vs, { step: ++step, lr: 1e-3, weightDecay: 0.01 });
  }, { minReps: reps, minSeconds: 0, warmup: 1 });

  // Sampling: temperature + top-p over Qwen2's vocabulary.
  const L = torl.tensor(fill(sampleCfg.B * sampleCfg.V, 8, 5), [sampleCfg.B, sampleCfg.V]);
  const samp = time(() => {
    torl.ops.sample(L, { temperature, topP: sampleCfg.topP, seed: 1, offset: step++ });
  }, { minReps: reps, minSeconds: 0.5, warmup: 1 });

  const shape = (V: number) => `T=${T} D=${D} V=${V}`;
  const rows: OpRow[] = [
    { op: 'lmHeadLogprob', shape: shape(vRef), unit: 'GFLOP/s', ours: gflop(vRef, 1) / small.fwd, torch: torch && gflop(vRef, 1) / torch.lmhead[0]!.fwd },
    { op: 'lmHeadLogprob+Backward', shape: shape(vRef), unit: 'GFLOP/s', ours: gflop(vRef, 3) / small.fwdBwd, torch: torch && gflop(vRef, 3) / torch.lmhead[0]!.fwdBwd },
    { op: 'lmHeadLogprob', shape: shape(vBig), unit: 'GFLOP/s', ours: gflop(vBig, 1) / big.fwd, note: 'ours only' },
    { op: 'lmHeadLogprob+Backward', shape: shape(vBig), unit: 'GFLOP/s', ours: gflop(vBig, 3) / big.fwdBwd, note: 'ours only' },
    { op: 'adamw', shape: `${(nParams / 1e6).toFixed(1)}M params, ${adamSizes.length} tensors`, unit: 'Mparam/s', ours: nParams / 1e6 / adam.median, torch: torch && nParams / 1e6 / torch.adamw.step },
    { op: 'sample', shape: `B=${sampleCfg.B} V=${sampleCfg.V} top-p ${sampleCfg.topP}`, unit: 'rows/s', ours: sampleCfg.B / samp.median, torch: torch?.sample.rowsPerSec },
  ].map((r) => ({ ...r, note: r.note ?? note }));

  printTable(
    `lmHeadLogprob scratch memory (T=${T}, D=${D}; GFLOP counts 2·T·D·V per pass, 3 passes forward+backward)`,
    ['V', 'ours: scratch MiB', 'naive [T, V] f32 logits MiB', 'torch peak RSS growth MiB'],
    [
      [vRef, small.scratch / MB, (T * vRef * 4) / MB, torch ? torch.lmhead[0]!.peakRssGrowth / MB : 'n/a'],
      [vBig, big.scratch / MB, (T * vBig * 4) / MB, 'not run'],
    ],
  );
  return {
    rows,
    figures: {
      lmHeadScratchBytes: { [vRef]: small.scratch, [vBig]: big.scratch },
      torchLmHeadPeakRssGrowth: torch?.lmhead[0]!.peakRssGrowth,
      torch: torch?.torch,
    },
  };
}
