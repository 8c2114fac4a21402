#!/usr/bin/env node
// Bundles the native test files and the GPU benchmarks into self-contained
// .mjs files (esbuild, 'tap' → scripts/gpu/tap-shim.mjs) so that they run on
// a machine that has Node.js but none of our npm dependencies.
//   node scripts/gpu/bundle.mjs <outdir>
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const out = process.argv[2] ?? join(root, 'build', 'gpu-bundle');
// The suites that exercise native code (the GPU-relevant ones) and the GPU benchmarks.
// test/engine: the engine suites that need nothing outside the bundle (the text and README tests
// read node_modules at run time).
const tests = ['test/native', 'test/ops']
  .filter((d) => existsSync(join(root, d)))
  .flatMap((d) => readdirSync(join(root, d)).filter((f) => f.endsWith('.test.ts')).map((f) => `${d}/${f}`))
  .concat(['test/engine/engine.test.ts', 'test/engine/engine-gpu.test.ts', 'test/engine/block-manager.test.ts'].filter((f) => existsSync(join(root, f))));
const benches = ['bench/gemm.ts', 'bench/ops.ts', 'bench/train.ts', 'bench/decode.ts', 'bench/grpo.ts', 'bench/sandbox.ts'].filter((f) => existsSync(join(root, f)));

await build({
  entryPoints: [...tests, ...benches].map((f) => join(root, f)),
  outdir: out,
  outbase: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  alias: { tap: join(root, 'scripts/gpu/tap-shim.mjs') },
  // resvg's prebuilt binary cannot be bundled: the plots skip their PNGs where it is absent
  external: ['@resvg/resvg-js'],
  // the addon is found at run time through TORL_ADDON (see lib/native.ts)
  banner: { js: "import { createRequire as __torlRequire } from 'node:module'; const require = __torlRequire(import.meta.url);" },
  logLevel: 'warning',
});
// Python reference scripts travel beside the bundles that call them. bench/ops/<family>.ts
// is inlined into bench/ops.mjs, whose import.meta.url is bench/: its scripts go there too.
for (const [dir, dests] of [['bench', ['bench']], ['bench/ops', ['bench/ops', 'bench']]]) {
  if (!existsSync(join(root, dir))) continue;
  for (const dest of dests) {
    mkdirSync(join(out, dest), { recursive: true });
    for (const f of readdirSync(join(root, dir)).filter((f) => f.endsWith('.py'))) copyFileSync(join(root, dir, f), join(out, dest, f));
  }
}
// The sandbox finds its worker package at <module dir>/../../lib/sandbox/torl_worker/ (python-sandbox.ts):
// for a bundle in <out>/bench/ that is <out>/../lib/sandbox/torl_worker/ (inside the repository:
// build/lib/sandbox/torl_worker/).
const workerDir = join(out, '..', 'lib', 'sandbox', 'torl_worker');
if (workerDir !== join(root, 'lib', 'sandbox', 'torl_worker')) {
  rmSync(workerDir, { recursive: true, force: true });
  mkdirSync(workerDir, { recursive: true });
  const src = join(root, 'lib', 'sandbox', 'torl_worker');
  for (const f of readdirSync(src).filter((f) => f.endsWith('.py'))) copyFileSync(join(src, f), join(workerDir, f));
}
console.log(`bundled ${tests.length} test files and ${benches.length} benchmarks into ${out}`);
