// The CUDA kernels other than GEMM and attention, beside PyTorch on the same
// GPU (bench/ops/train_gpu.py, the GPU machine's python3), bf16:
//   rmsnorm (+residual) fwd/bwd, rope (q and k), swiglu fwd/bwd: GB/s of the
//     bytes each must move, beside torch eager and beside the device's copy
//     bandwidth (a torch clone of a 2 GiB buffer: 2 × bytes / time)
//   the fused LM-head log-prob + GRPO loss + backward at T 16384, V 151936,
//     D 1536 beside the naive torch loss (full logits → log_softmax → gather,
//     entropy as a metric, autograd): losses/s and peak memory (torch: the
//     growth of max_memory_allocated; ours: the ops' reported scratch plus
//     every output they allocate); and a spot check of four token rows (two in
//     the first token tile, two in the last) against the CPU op
//   AdamW over Qwen2.5-1.5B's parameter shapes (1.54B params, f32 params and
//     grads) beside torch.optim.AdamW(fused=True); ours also with bf16 params,
//     f32 masters and bf16 grads (the training configuration)
// No GPU: no rows, the reason in the figures.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torl from '../../lib/index.js';
import { printTable, runPython, time } from '../lib/harness.js';
import type { OpBench, OpRow } from '../ops.js';
import { fill } from './train.js';

const here = dirname(fileURLToPath(import.meta.url));
const GB = 1e9;

interface TorchOut {
  torch: string;
  copy: number;
  layers: { rmsnormFwd: number; rmsnormBwd: number; rope: number; swigluFwd: number; swigluBwd: number };
  lmhead: { seconds: number; peakBytes: number };
  adamw: number;
}

/** Qwen2.5-1.5B's parameter shapes (28 layers, tied embedding) as element counts. */
function qwen15bSizes(layers: number): number[] {
  const D = 1536, I = 8960, KV = 256;
  const layer = [D * D, D, KV * D, KV, KV * D, KV, D * D, I * D, I * D, D * I, D, D];
  return [151936 * D, ...Array.from({ length: layers }, () => layer).flat(), D];
}

/** The largest |a − b| over two arrays. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function trainGpuBench(quick: boolean): OpBench {
  const cuda = torl.backends().cuda;
  if (!cuda.available) return { rows: [], figures: { skipped: `no GPU: ${cuda.reason ?? 'unavailable'}` } };
  const L = { T: quick ? 4096 : 16384, D: 1536, I: 8960, Hq: 12, Hkv: 2, Dh: 128, theta: 1e6, eps: 1e-6 };
  const H = { T: quick ? 4096 : 16384, D: 1536, V: 151936, temperature: 1 };
  const adamSizes = qwen15bSizes(quick ? 4 : 28);
  const copyBytes = 2 ** 31;
  const ref = runPython('python3', join(here, 'train_gpu.py'), { copy_bytes: copyBytes, layers: L, lmhead: H, adamw: adamSizes });
  const torch = ref.ok ? (ref.value as TorchOut) : undefined;
  const note = ref.ok ? `torch ${torch!.torch}` : `reference missing: ${ref.error}`;
  const sync = () => torl.synchronize('cuda');
  const gpu = { dtype: 'bf16', device: 'cuda' } as const;
  const opts = { minSeconds: quick ? 0.2 : 0.5, warmup: 2 };
  const rows: OpRow[] = [];

  // --- memory-bound layer kernels -------------------------------------------------
  const { T, D, I, Hq, Hkv, Dh } = L;
  const copyGBs = torch ? (2 * copyBytes) / torch.copy / GB : undefined;
  const layerRow = (op: string, shape: string, bytes: number, ours: number, theirs: number | undefined) => {
    const gbs = bytes / ours / GB;
    rows.push({
      op: `${op} (cuda)`, shape, unit: 'GB/s', ours: gbs, torch: theirs && bytes / theirs / GB,
      note: copyGBs ? `${((100 * gbs) / copyGBs).toFixed(0)}% of copy ${copyGBs.toFixed(0)} GB/s; ${note}` : note,
    });
  };
  {
    const x = torl.tensor(fill(T * D, 1, 1), [T, D], gpu), r = torl.tensor(fill(T * D, 1, 2), [T, D], gpu);
    const w = torl.tensor(fill(D, 1, 3), [D], gpu), dy = torl.tensor(fill(T * D, 1, 4), [T, D], gpu);
    const f0 = torl.ops.rmsnorm(x, w, r, { eps: L.eps });
    const fwd = time(() => {
      const f = torl.ops.rmsnorm(x, w, r, { eps: L.eps });
      sync();
      for (const t of [f.y, f.s!, f.rstd]) t.dispose();
    }, opts);
    const bwd = time(() => {
      const g = torl.ops.rmsnormBackward(dy, f0.s!, w, f0.rstd);
      sync();
      g.dx.dispose();
      g.dw.dispose();
    }, opts);
    const n = T * D * 2;
    layerRow('rmsnorm+residual fwd', `T=${T} D=${D}`, 4 * n, fwd.median, torch?.layers.rmsnormFwd);
    layerRow('rmsnorm bwd', `T=${T} D=${D}`, 3 * n, bwd.median, torch?.layers.rmsnormBwd);
    for (const t of [x, r, w, dy, f0.y, f0.s!, f0.rstd]) t.dispose();
  }
  {
    const q = torl.tensor(fill(T * Hq * Dh, 1, 5), [T, Hq, Dh], gpu), k = torl.tensor(fill(T * Hkv * Dh, 1, 6), [T, Hkv, Dh], gpu);
    const pos = torl.tensor(Int32Array.from({ length: T }, (_, t) => t), [T], { dtype: 'i32', device: 'cuda' });
    const t = time(() => {
      const o = torl.ops.rope(q, k, pos, { theta: L.theta });
      sync();
      o.q.dispose();
      o.k.dispose();
    }, opts);
    layerRow('rope q+k', `T=${T} Hq=${Hq} Hkv=${Hkv} Dh=${Dh}`, 2 * T * (Hq + Hkv) * Dh * 2, t.median, torch?.layers.rope);
    for (const x of [q, k, pos]) x.dispose();
  }
  {
    const g = torl.tensor(fill(T * I, 3, 7), [T, I], gpu), u = torl.tensor(fill(T * I, 1, 8), [T, I], gpu);
    const dy = torl.tensor(fill(T * I, 1, 9), [T, I], gpu);
    const fwd = time(() => {
      torl.ops.swiglu(g, u).dispose();
      sync();
    }, opts);
    const bwd = time(() => {
      const o = torl.ops.swigluBackward(dy, g, u);
      sync();
      o.dgate.dispose();
      o.dup.dispose();
    }, opts);
    layerRow('swiglu fwd', `T=${T} I=${I}`, 3 * T * I * 2, fwd.median, torch?.layers.swigluFwd);
    layerRow('swiglu bwd', `T=${T} I=${I}`, 5 * T * I * 2, bwd.median, torch?.layers.swigluBwd);
    for (const x of [g, u, dy]) x.dispose();
  }

  // --- fused LM-head log-prob + GRPO loss + backward -----------------------------
  const lm = (() => {
    const { T, D, V, temperature } = H;
    const h = fill(T * D, 0.5, 11), w = fill(V * D, 0.02, 12);
    const ids = Int32Array.from({ length: T }, (_, t) => (t * 7919) % V);
    const hid = torl.tensor(h, [T, D], gpu), W = torl.tensor(w, [V, D], gpu);
    const I = torl.tensor(ids, [T], { dtype: 'i32', device: 'cuda' });
    const F = (a: Float32Array) => torl.tensor(a, [T], { device: 'cuda' });
    const old = F(fill(T, 0.01, 13).map((x) => x - 3)), adv = F(fill(T, 1, 14));
    const mask = F(Float32Array.from({ length: T }, (_, t) => (t % 10 === 0 ? 0 : 1)));
    let peak = 0;
    const step = () => {
      const f = torl.ops.lmHeadLogprob(hid, W, I, { temperature });
      const loss = torl.ops.grpoLoss(f.logprob, old, adv, mask);
      const g = torl.ops.lmHeadLogprobBackward(loss.dlogp, null, hid, W, I, f.lse, f.entropy, { temperature });
      sync();
      const outputs = 4 * (4 * T) + 4 * T * D + 4 * V * D;  // logprob, entropy, lse, dlogp; dhidden; dweight
      peak = Math.max(f.scratchBytes, g.scratchBytes) + outputs;
      return { f, loss, g };
    };
    const t = time(() => {
      const { f, loss, g } = step();
      for (const x of [f.logprob, f.entropy, f.lse, loss.dlogp, g.dhidden, g.dweight]) x.dispose();
    }, { minSeconds: 0, minReps: 3, warmup: 1 });
    // spot check: four token rows against the CPU op (bf16 inputs there too)
    const { f, loss, g } = step();
    const pick = [0, 1, T - 2, T - 1];
    const rowsOf = (a: Float32Array, width: number) => Float32Array.from(pick.flatMap((r) => Array.from(a.subarray(r * width, (r + 1) * width))));
    const cpu = { dtype: 'bf16' } as const;
    const hc = torl.tensor(rowsOf(h, D), [4, D], cpu), Wc = torl.tensor(w, [V, D], cpu);
    const Ic = torl.tensor(Int32Array.from(pick, (r) => ids[r]!), [4], { dtype: 'i32' });
    const fc = torl.ops.lmHeadLogprob(hc, Wc, Ic, { temperature });
    const dlp = torl.tensor(rowsOf(loss.dlogp.toArray() as Float32Array, 1), [4]);
    const gc = torl.ops.lmHeadLogprobBackward(dlp, null, hc, Wc, Ic, fc.lse, fc.entropy, { temperature });
    const check = {
      logprob: maxDiff(rowsOf(f.logprob.toArray() as Float32Array, 1), fc.logprob.toArray() as Float32Array),
      entropy: maxDiff(rowsOf(f.entropy.toArray() as Float32Array, 1), fc.entropy.toArray() as Float32Array),
      dhidden: maxDiff(rowsOf(g.dhidden.toArray() as Float32Array, D), gc.dhidden.toArray() as Float32Array),
      dhiddenMax: maxDiff(gc.dhidden.toArray() as Float32Array, new Float32Array(4 * D)),
    };
    for (const x of [f.logprob, f.entropy, f.lse, loss.dlogp, g.dhidden, g.dweight, hid, W, I, old, adv, mask, hc, Wc, Ic, fc.logprob, fc.entropy, fc.lse, dlp, gc.dhidden, gc.dweight]) x.dispose();
    return { seconds: t.median, peak, check };
  })();
  const lmShape = `T=${H.T} D=${H.D} V=${H.V}`;
  rows.push({ op: 'lmHeadLogprob+grpoLoss+backward (cuda)', shape: lmShape, unit: 'losses/s', ours: 1 / lm.seconds, torch: torch && 1 / torch.lmhead.seconds, note: `naive torch loss; ${note}` });
  printTable(`fused LM-head + GRPO loss memory (${lmShape}, bf16)`, ['', 'ours', 'naive torch', 'ours / torch (target ≤ 0.125)'], [
    ['peak MiB', lm.peak / 2 ** 20, torch ? torch.lmhead.peakBytes / 2 ** 20 : 'n/a', torch ? (lm.peak / torch.lmhead.peakBytes).toFixed(3) : 'n/a'],
  ]);
  printTable('fused LM-head spot check: 4 token rows (first and last token tile) against the CPU op', ['output', 'max |gpu − cpu|'], [
    ['logprob', lm.check.logprob], ['entropy', lm.check.entropy], ['dhidden', lm.check.dhidden], ['(max |dhidden|)', lm.check.dhiddenMax],
  ]);

  // --- AdamW over a 1.5B-parameter list ----------------------------------------------
  const nParams = adamSizes.reduce((a, b) => a + b, 0);
  const adam = (bf16: boolean) => {
    const z = (dtype: 'f32' | 'bf16') => adamSizes.map((n) => torl.zeros([n], { dtype, device: 'cuda' }));
    const P = z(bf16 ? 'bf16' : 'f32'), G = z(bf16 ? 'bf16' : 'f32'), M = z('f32'), Vs = z('f32');
    const master = bf16 ? z('f32') : undefined;
    let step = 0;
    const t = time(() => {
      torl.ops.adamw(P, G, M, Vs, { step: ++step, lr: 1e-4, weightDecay: 0.01, ...(master ? { master } : {}) });
      sync();
    }, { minSeconds: 0, minReps: 10, warmup: 2 });
    for (const x of [...P, ...G, ...M, ...Vs, ...(master ?? [])]) x.dispose();
    return t.median;
  };
  const adamShape = `${(nParams / 1e9).toFixed(2)}B params, ${adamSizes.length} tensors`;
  const f32 = adam(false), mixed = adam(true);
  rows.push({ op: 'adamw f32 (cuda)', shape: adamShape, unit: 'Gparam/s', ours: nParams / f32 / 1e9, torch: torch && nParams / torch.adamw / 1e9, note: `torch fused=True; ${((28 * nParams) / f32 / GB).toFixed(0)} GB/s; ${note}` });
  rows.push({ op: 'adamw bf16+master (cuda)', shape: adamShape, unit: 'Gparam/s', ours: nParams / mixed / 1e9, note: 'ours only' });

  return {
    rows,
    figures: {
      device: cuda.devices[0],
      copyGBs,
      lmHead: { oursPeakBytes: lm.peak, torchPeakBytes: torch?.lmhead.peakBytes, spotCheck: lm.check },
      reference: note,
    },
  };
}
