// bench/gemm: torl's GEMM (torl.ops.linear: y = x·wᵀ, f32) beside numpy's BLAS
// (OpenBLAS) on the same shapes and layout, measured in the same run.
// Square 512–4096 and transformer shapes (N tokens × K → M for Qwen2.5 sizes).
// On a GPU machine it also times the CUDA path (bf16) beside torch.matmul.
//   npm run bench -- gemm [--quick]
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torl from '../lib/index.js';
import { emitJson, fmt, printTable, ratio, runPython, time } from './lib/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');

const square = (quick ? [512, 1024] : [512, 1024, 2048, 4096]).map((s) => [s, s, s] as [number, number, number]);
const transformer: [number, number, number][] = quick
  ? [[1, 896, 4864], [512, 896, 4864]]
  : [
      [1, 896, 4864], [8, 896, 4864], [512, 896, 4864], [2048, 896, 4864],
      [512, 4864, 896], [512, 1536, 8960], [2048, 8960, 1536],
      [1, 896, 151936], [512, 896, 151936],
    ];
const shapes = [...square, ...transformer];
const minSeconds = quick ? 0.2 : 0.5;

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

// numpy with OpenBLAS's own core detection: the machine's OPENBLAS_CORETYPE pin
// (set here for old OpenBLAS builds) would hold a current one to its Haswell kernels.
const env = { ...process.env, OPENBLAS_CORETYPE: undefined, OPENBLAS_L2_SIZE: undefined };
const ref = runPython('python3', join(here, 'gemm.py'), { shapes, min_seconds: minSeconds }, env);
const refSeconds = ref.ok ? (ref.value as { seconds: number[] }).seconds : [];
const refName = ref.ok ? `numpy ${(ref.value as { numpy: string }).numpy} / OpenBLAS core ${(ref.value as { core: string }).core}` : `missing (${ref.ok ? '' : ref.error})`;

const b = torl.backends();
const rows: (string | number)[][] = [];
const figures: Record<string, unknown>[] = [];
for (const [i, [N, K, M]] of shapes.entries()) {
  const x = torl.tensor(rand(N * K), [N, K]);
  const w = torl.tensor(rand(M * K), [M, K]);
  const t = time(() => torl.ops.linear(x, w).dispose(), { minSeconds });
  const flops = 2 * N * K * M;
  const ours = flops / t.median / 1e9;
  const theirs = refSeconds[i] ? flops / refSeconds[i]! / 1e9 : undefined;
  rows.push([`${N}x${K}x${M}`, ours, theirs ?? 'n/a', ratio(ours, theirs)]);
  figures.push({ shape: [N, K, M], gflops: ours, ref_gflops: theirs ?? null, ratio: theirs ? ours / theirs : null });
  x.dispose();
  w.dispose();
}
printTable(
  `GEMM f32 on the CPU (${b.cpu.threads} threads, ${b.cpu.simd}) — torl vs ${refName}`,
  ['N x K x M', 'torl GFLOP/s', 'numpy GFLOP/s', 'ratio'],
  rows,
);
const ratios = figures.map((f) => f.ratio).filter((r): r is number => typeof r === 'number');
const geomean = ratios.length ? Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length) : null;
console.log(`\ngeometric-mean ratio: ${geomean ? fmt(geomean) + 'x' : 'n/a'}`);
emitJson({ bench: 'gemm', device: 'cpu', simd: b.cpu.simd, threads: b.cpu.threads, reference: refName, geomean_ratio: geomean, shapes: figures });
