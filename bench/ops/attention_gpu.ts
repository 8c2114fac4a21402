// Attention on the GPU beside PyTorch's F.scaled_dot_product_attention with the
// flash backend (bench/ops/attention_gpu.py, the GPU machine's python3): causal,
// bf16, Qwen2.5-1.5B heads (Hq 12, Hkv 2, Dh 128), T tokens packed as T / L
// sequences of length L for L = 1k, 2k, 4k. Forward, and forward + backward,
// in TFLOP/s of causal attention (4·Σ L²/2·Dh·Hq per forward, 2.5× that per
// backward). No GPU: no rows, the reason in the figures.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torl from '../../lib/index.js';
import { runPython, time } from '../lib/harness.js';
import type { OpBench, OpRow } from '../ops.js';
import { fill } from './train.js';

const here = dirname(fileURLToPath(import.meta.url));
// Beside this file, or in ops/ when this file is bundled into bench/ops.mjs (scripts/gpu/bundle.mjs).
const script = join(here, 'attention_gpu.py');

interface TorchOut {
  torch: string;
  gqa: string;
  rows: { L: number; fwd: number; fwdBwd: number }[];
}

export function attentionGpuBench(quick: boolean): OpBench {
  const cuda = torl.backends().cuda;
  if (!cuda.available) return { rows: [], figures: { skipped: `no GPU: ${cuda.reason ?? 'unavailable'}` } };
  const T = quick ? 8192 : 16384, Hq = 12, Hkv = 2, Dh = 128;
  const lens = [1024, 2048, 4096];
  const minSeconds = quick ? 0.2 : 0.5;

  const ref = runPython('python3', script, { T, Hq, Hkv, Dh, lens, min_seconds: minSeconds });
  const torch = ref.ok ? (ref.value as TorchOut) : undefined;
  const note = ref.ok ? `torch ${torch!.torch} SDPA flash (GQA ${torch!.gqa})` : `reference missing: ${ref.error}`;

  const opts = { dtype: 'bf16', device: 'cuda' } as const;
  const q = torl.tensor(fill(T * Hq * Dh, 1, 1), [T, Hq, Dh], opts);
  const k = torl.tensor(fill(T * Hkv * Dh, 1, 2), [T, Hkv, Dh], opts);
  const v = torl.tensor(fill(T * Hkv * Dh, 1, 3), [T, Hkv, Dh], opts);
  const dout = torl.tensor(fill(T * Hq * Dh, 1, 4), [T, Hq, Dh], opts);

  const rows: OpRow[] = [];
  for (const [i, L] of lens.entries()) {
    const cu = torl.tensor(Int32Array.from({ length: T / L + 1 }, (_, b) => b * L), [T / L + 1], { dtype: 'i32', device: 'cuda' });
    const fwd = time(() => {
      const f = torl.ops.attention(q, k, v, cu);
      torl.synchronize('cuda');
      f.out.dispose();
      f.lse.dispose();
    }, { minSeconds, warmup: 3 });
    const both = time(() => {
      const f = torl.ops.attention(q, k, v, cu);
      const g = torl.ops.attentionBackward(dout, q, k, v, f.out, f.lse, cu);
      torl.synchronize('cuda');
      for (const t of [f.out, f.lse, g.dq, g.dk, g.dv]) t.dispose();
    }, { minSeconds, warmup: 3 });
    cu.dispose();
    const fwdFlop = (4 * (T / L) * ((L * (L + 1)) / 2) * Dh * Hq) / 1e12;
    const ref = torch?.rows[i];
    const shape = `T=${T} L=${L} Hq=${Hq} Hkv=${Hkv} Dh=${Dh}`;
    rows.push({ op: 'attention fwd (cuda)', shape, unit: 'TFLOP/s', ours: fwdFlop / fwd.median, torch: ref && fwdFlop / ref.fwd, note });
    rows.push({ op: 'attention fwd+bwd (cuda)', shape, unit: 'TFLOP/s', ours: (3.5 * fwdFlop) / both.median, torch: ref && (3.5 * fwdFlop) / ref.fwdBwd, note });
  }
  for (const t of [q, k, v, dout]) t.dispose();
  return { rows, figures: { device: cuda.devices[0], reference: note } };
}
