// The transformer-layer ops' benchmark, beside PyTorch CPU (bench/ops/layers.py)
// on the same shapes and thread count, forward + backward each:
//   rmsnorm (with the residual add), rope (q and k), swiglu: GB/s of the
//     tensors an unfused-free pass must read and write (the same byte count
//     for both sides, so the ratio is the time ratio)
//   attention: causal, packed, Qwen2.5-1.5B (12/2/128) and 0.5B (14/2/64) heads,
//     T = 2048 as 4×512 and as 1×2048; GFLOP/s of causal attention
//     (4·Σ L²/2·Dh·Hq per forward, 2.5× that per backward), torch as
//     softmax(QKᵀ/√d + mask)·V with autograd
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torl from '../../lib/index.js';
import { runPython, SYSTEM_PYTHON, time, torchCpuEnv } from '../lib/harness.js';
import type { OpBench, OpRow } from '../ops.js';

const here = dirname(fileURLToPath(import.meta.url));

// Outputs are released as each run ends (as torch's refcounting does), not left to the GC.
const free = (...ts: (torl.Tensor | undefined)[]) => ts.forEach((t) => t?.dispose());

interface Attn {
  B: number;
  L: number;
  Hq: number;
  Hkv: number;
  Dh: number;
}

interface TorchOut {
  torch: string;
  blas: string;
  rmsnorm: number;
  rope: number;
  swiglu: number;
  attention: number[];
}

export function layersBench(quick: boolean): OpBench {
  const threads = torl.backends().cpu.threads;
  const T = 2048, D = 1536, F = 8960; // Qwen2.5-1.5B widths
  const ropeCfg = { Hq: 12, Hkv: 2, Dh: 128, lens: [512, 512, 512, 512], theta: 1e6 };
  const attn: Attn[] = [
    { B: 4, L: 512, Hq: 12, Hkv: 2, Dh: 128 },
    { B: 4, L: 512, Hq: 14, Hkv: 2, Dh: 64 },
    ...(quick ? [] : [{ B: 1, L: 2048, Hq: 12, Hkv: 2, Dh: 128 }, { B: 1, L: 2048, Hq: 14, Hkv: 2, Dh: 64 }]),
  ];
  const reps = quick ? 2 : 3;
  const t = (shape: number[]) =>
    torl.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.random() * 2 - 1), shape);
  const opts = { minReps: reps, minSeconds: quick ? 0 : 0.5, warmup: 1 };

  console.error(`bench/ops layers: PyTorch reference (${attn.length} attention shapes; its naive attention is slow) ...`);
  const ref = runPython(SYSTEM_PYTHON, join(here, 'layers.py'), {
    threads, reps, attentionReps: 1, T, D, F, rope: ropeCfg, attention: attn,
  }, torchCpuEnv());
  const torch = ref.ok ? (ref.value as TorchOut) : undefined;
  const note = ref.ok ? `torch ${torch!.torch}, BLAS ${torch!.blas}` : `reference missing: ${ref.error}`;
  console.error('bench/ops layers: ours ...');

  // rmsnorm with the residual add, then its backward with the residual-stream gradient.
  const x = t([T, D]), r = t([T, D]), w = t([D]), dy = t([T, D]), dres = t([T, D]);
  const norm = time(() => {
    const f = torl.ops.rmsnorm(x, w, r);
    const b = torl.ops.rmsnormBackward(dy, f.s!, w, f.rstd, dres);
    free(f.y, f.s, f.rstd, b.dx, b.dw);
  }, opts);
  const normBytes = 4 * T * D * 9; // fwd: x, r → y, s; bwd: dy, s, dres → dx

  // rope on q and k, forward and backward (out of place).
  const { Hq, Hkv, Dh } = ropeCfg;
  const q = t([T, Hq, Dh]), k = t([T, Hkv, Dh]), dq = t([T, Hq, Dh]), dk = t([T, Hkv, Dh]);
  const pos = torl.tensor(Int32Array.from(ropeCfg.lens.flatMap((n) => Array.from({ length: n }, (_, i) => i))), [T]);
  const rope = time(() => {
    const f = torl.ops.rope(q, k, pos);
    const b = torl.ops.ropeBackward(dq, dk, pos);
    free(f.q, f.k, b.dq, b.dk);
  }, opts);
  const ropeBytes = 4 * T * (Hq + Hkv) * Dh * 4; // read + write, both directions

  // swiglu over the MLP width.
  const g = t([T, F]), u = t([T, F]), dys = t([T, F]);
  const swi = time(() => {
    const y = torl.ops.swiglu(g, u);
    const b = torl.ops.swigluBackward(dys, g, u);
    free(y, b.dgate, b.dup);
  }, opts);
  const swiBytes = 4 * T * F * 8; // fwd: g, u → y; bwd: dy, g, u → dg, du

  const rows: OpRow[] = [
    { op: 'rmsnorm+residual fwd+bwd', shape: `T=${T} D=${D}`, unit: 'GB/s', ours: normBytes / norm.median / 1e9, torch: torch && normBytes / torch.rmsnorm / 1e9 },
    { op: 'rope q,k fwd+bwd', shape: `T=${T} ${Hq}/${Hkv}/${Dh}`, unit: 'GB/s', ours: ropeBytes / rope.median / 1e9, torch: torch && ropeBytes / torch.rope / 1e9 },
    { op: 'swiglu fwd+bwd', shape: `T=${T} F=${F}`, unit: 'GB/s', ours: swiBytes / swi.median / 1e9, torch: torch && swiBytes / torch.swiglu / 1e9 },
  ];

  attn.forEach((a, i) => {
    const Tn = a.B * a.L;
    const Q = t([Tn, a.Hq, a.Dh]), K = t([Tn, a.Hkv, a.Dh]), V = t([Tn, a.Hkv, a.Dh]);
    const dO = t([Tn, a.Hq, a.Dh]);
    const cu = torl.tensor(Int32Array.from({ length: a.B + 1 }, (_, b) => b * a.L), [a.B + 1]);
    const run = time(() => {
      const f = torl.ops.attention(Q, K, V, cu);
      const b = torl.ops.attentionBackward(dO, Q, K, V, f.out, f.lse, cu);
      free(f.out, f.lse, b.dq, b.dk, b.dv);
    }, opts);
    const gflop = (3.5 * 4 * a.B * ((a.L * a.L) / 2) * a.Dh * a.Hq) / 1e9;
    rows.push({
      op: 'attention fwd+bwd',
      shape: `${a.B}×${a.L} ${a.Hq}/${a.Hkv}/${a.Dh}`,
      unit: 'GFLOP/s',
      ours: gflop / run.median,
      torch: torch && gflop / torch.attention[i]!,
    });
  });
  return {
    rows: rows.map((row) => ({ ...row, note })),
    figures: { threads, torch: torch?.torch, torchBlas: torch?.blas },
  };
}
