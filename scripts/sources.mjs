#!/usr/bin/env node
// The one list of native sources, read by both builds (CMakeLists.txt and
// binding.gyp), derived from the folder layout so no list is kept by hand:
//   cpu     native/{core,cpu,model,napi}/*.cc, minus the per-ISA and no-CUDA files
//   avx2    *_avx2.cc   (compiled with AVX2+FMA flags, chosen at run time)
//   avx512  *_avx512.cc (compiled with AVX-512 flags, chosen at run time)
//   cuda    native/cuda/*.cu
//   nocuda  native/core/cuda_absent.cc (stands in for native/cuda/ when nvcc is absent)
// Usage: node scripts/sources.mjs <group...> [--sep ';']
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const list = (dir, ext) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir)).filter((f) => f.endsWith(ext)).sort().map((f) => `${dir}/${f}`)
    : [];
const cc = ['native/core', 'native/cpu', 'native/model', 'native/napi'].flatMap((d) => list(d, '.cc'));
const NOCUDA = 'native/core/cuda_absent.cc';
const groups = {
  cpu: cc.filter((f) => !/_(avx2|avx512)\.cc$/.test(f) && f !== NOCUDA),
  avx2: cc.filter((f) => f.endsWith('_avx2.cc')),
  avx512: cc.filter((f) => f.endsWith('_avx512.cc')),
  cuda: list('native/cuda', '.cu'),
  nocuda: [NOCUDA],
};

const args = process.argv.slice(2);
const sepAt = args.indexOf('--sep');
const sep = sepAt >= 0 ? args[sepAt + 1] : '\n';
const names = sepAt >= 0 ? args.filter((_, i) => i !== sepAt && i !== sepAt + 1) : args;
const out = [];
for (const n of names) {
  if (!(n in groups)) {
    console.error(`sources.mjs: unknown group '${n}' (known: ${Object.keys(groups).join(', ')})`);
    process.exit(2);
  }
  out.push(...groups[n]);
}
process.stdout.write(out.join(sep));
