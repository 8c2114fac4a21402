// bench/gemm: torl's GEMM (torl.ops.linear: y = x·wᵀ, f32) beside numpy's BLAS
// (OpenBLAS) on the same shapes and layout, measured in the same run.
// Square 512–4096 and transformer shapes (N tokens × K → M for Qwen2.5 sizes).
// On a GPU machine it also times the CUDA path (bf16) beside torch.matmul.
//   npm run bench -- gemm [--quick] [--gpu]   (--gpu: the GPU table only, as check:gpu runs it)
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torl from '../lib/index.js';
import { emitJson, fmt, printTable, ratio, runPython, time } from './lib/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const quick = process.argv.includes('--quick');
const gpuOnly = process.argv.includes('--gpu');

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
let refName = 'numpy';
// One shape at a time, the reference right before ours, so both see the same machine load.
function numpySeconds(shape: [number, number, number]): number | undefined {
  const r = runPython('python3', join(here, 'gemm.py'), { shapes: [shape], min_seconds: minSeconds }, env);
  if (!r.ok) {
    refName = `missing (${r.error})`;
    return undefined;
  }
  const v = r.value as { seconds: number[]; numpy: string; core: string };
  refName = `numpy ${v.numpy} / OpenBLAS core ${v.core}`;
  return v.seconds[0];
}

const b = torl.backends();
const rows: (string | number)[][] = [];
const figures: Record<string, unknown>[] = [];
for (const [N, K, M] of gpuOnly ? [] : shapes) {
  const refSeconds = numpySeconds([N, K, M]);
  const x = torl.tensor(rand(N * K), [N, K]);
  const w = torl.tensor(rand(M * K), [M, K]);
  const t = time(() => torl.ops.linear(x, w).dispose(), { minSeconds });
  const flops = 2 * N * K * M;
  const ours = flops / t.median / 1e9;
  const theirs = refSeconds ? flops / refSeconds / 1e9 : undefined;
  rows.push([`${N}x${K}x${M}`, ours, theirs ?? 'n/a', ratio(ours, theirs)]);
  figures.push({ shape: [N, K, M], gflops: ours, ref_gflops: theirs ?? null, ratio: theirs ? ours / theirs : null });
  x.dispose();
  w.dispose();
}
if (!gpuOnly) printTable(
  `GEMM f32 on the CPU (${b.cpu.threads} threads, ${b.cpu.simd}) — torl vs ${refName}`,
  ['N x K x M', 'torl GFLOP/s', 'numpy GFLOP/s', 'torl ÷ numpy'],
  rows,
);
const geomean = (fs: Record<string, unknown>[]) => {
  const rs = fs.map((f) => f.ratio).filter((r): r is number => typeof r === 'number');
  return rs.length ? Math.exp(rs.reduce((s, r) => s + Math.log(r), 0) / rs.length) : null;
};
console.log(`\ngeometric-mean ratio: ${geomean(figures) ? fmt(geomean(figures)!) + 'x' : 'n/a'}`);
const result: Record<string, unknown> = {
  bench: 'gemm', simd: b.cpu.simd, threads: b.cpu.threads,
  cpu: { reference: refName, geomean_ratio: geomean(figures), shapes: figures },
};

// The GPU half: bf16 x·wᵀ through cuBLASLt (or our kernels) beside torch.matmul.
if (b.cuda.available) {
  const gpuShapes: [number, number, number][] = [
    [4096, 4096, 4096], [8192, 8192, 8192], [1, 1536, 8960], [16384, 1536, 8960], [16384, 8960, 1536],
    [16384, 1536, 1536], [16384, 1536, 151936],
  ];
  const tref = runPython('python3', join(here, 'gemm_torch.py'), { shapes: gpuShapes, min_seconds: minSeconds });
  const tsec = tref.ok ? (tref.value as { seconds: number[] }).seconds : [];
  const tname = tref.ok ? `torch ${(tref.value as { torch: string }).torch}` : `missing (${tref.ok ? '' : tref.error})`;
  const grows: (string | number)[][] = [];
  const gfig: Record<string, unknown>[] = [];
  for (const [i, [N, K, M]] of gpuShapes.entries()) {
    // Values do not change tensor-core GEMM speed; zeros avoid building GBs of host data.
    const x = torl.zeros([N, K], { dtype: 'bf16', device: 'cuda' });
    const w = torl.zeros([M, K], { dtype: 'bf16', device: 'cuda' });
    const t = time(() => { torl.ops.linear(x, w).dispose(); torl.synchronize('cuda'); }, { minSeconds, warmup: 3 });
    const flops = 2 * N * K * M;
    const ours = flops / t.median / 1e12;
    const theirs = tsec[i] ? flops / tsec[i]! / 1e12 : undefined;
    grows.push([`${N}x${K}x${M}`, ours, theirs ?? 'n/a', ratio(ours, theirs)]);
    gfig.push({ shape: [N, K, M], tflops: ours, ref_tflops: theirs ?? null, ratio: theirs ? ours / theirs : null });
    x.dispose();
    w.dispose();
  }
  const path = b.cuda.cublasLt ? 'cuBLASLt' : 'own WMMA kernel';
  printTable(`GEMM bf16 on ${b.cuda.devices[0]} (${path}) — torl vs ${tname}`, ['N x K x M', 'torl TFLOP/s', 'torch TFLOP/s', 'torl ÷ torch'], grows);
  result.cuda = { device: b.cuda.devices[0], path, reference: tname, geomean_ratio: geomean(gfig), shapes: gfig };
}
emitJson(result);
