// The package as another trainer gets it: `npm pack`, then `npm install <the tarball>` into a
// throwaway TypeScript project (strict, module nodenext, no skipLibCheck) that imports torl,
// compiles, and runs one op and one Engine.generate on a tiny random model.
// The install is the real one: the tarball's install script builds the addon from the shipped
// native sources (CPU backend: TORL_CUDA=off), which is what proves the sources are complete —
// about 1–1.5 min on 2 cores, the only place the suite builds the addon. Dependencies come from
// npm's cache when `npm ci` filled it (--prefer-offline), else the registry.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = mkdtempSync(join(tmpdir(), 'torl-consumer-'));
const project = join(work, 'project');
// the nested npm must not inherit this run's package context (npm test sets npm_package_*, npm_lifecycle_*)
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_(package|lifecycle|config_(global|prefix|local_prefix))/i.test(k)));
const npm = (args: string[], opts: SpawnSyncOptions & { cwd: string }) =>
  spawnSync('npm', args, { encoding: 'utf8', env: { ...env, ...opts.env }, timeout: 540_000, maxBuffer: 64 << 20, cwd: opts.cwd });
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const git = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });

let tarball = '';
let files: string[] = [];

t.test('npm pack: what an install needs, and nothing it does not', (t) => {
  const r = npm(['pack', '--json', '--pack-destination', work], { cwd: root });
  t.equal(r.status, 0, `npm pack: ${String(r.stderr).slice(-2000)}`);
  const [info] = JSON.parse(String(r.stdout).slice(String(r.stdout).indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info!.filename);
  files = info!.files.map((f) => f.path);
  const has = new Set(files);
  for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'types/native.d.ts', 'CMakeLists.txt', 'binding.gyp', 'scripts/install.mjs', 'scripts/sources.mjs', 'lib/sandbox/torl_worker/__main__.py', 'lib/sandbox/torl_worker/syscall_filter.py', 'lib/eval/data/SOURCE.md']) t.ok(has.has(f), `ships ${f}`);
  for (const b of ['aime24', 'aime25', 'math500', 'olympiadbench', 'amc23', 'math500_level5']) t.ok(has.has(`lib/eval/data/${b}.jsonl`), `ships the ${b} benchmark`);
  // every native source the repository tracks (the build lists native/ by folder: scripts/sources.mjs)
  const tracked = git(['ls-files', 'native']).stdout.split('\n').filter(Boolean);
  t.ok(tracked.length > 50, `${tracked.length} tracked native files`);
  t.same(tracked.filter((f) => !has.has(f)), [], 'every tracked native file is in the tarball');
  const unwanted = files.filter((f) => /^(test|bench|build|scratch|docs|examples|\.ci|scripts\/gpu)\//.test(f) || f.includes('__pycache__') || f.endsWith('.node') || f === 'tsconfig.json');
  t.same(unwanted, [], 'no tests, benchmarks, build outputs, examples or caches');
  // the only declaration file that names @cortex-js/compute-engine is the grader worker's own, which no public one imports
  const importers = spawnSync('grep', ['-rl', '-e', 'compute-engine', '-e', "symbolic.js'", join(root, 'dist'), '--include=*.d.ts'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  t.same(importers.map((p) => p.slice(root.length + 1)), ['dist/reward/symbolic.d.ts']);
  t.end();
});

t.test('a strict nodenext TypeScript project installs it, compiles without skipLibCheck, and runs it', (t) => {
  if (!tarball) return t.fail('no tarball'), t.end();
  spawnSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'torl-consumer', private: true, type: 'module' }, null, 2));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', outDir: 'out', types: ['node'] },
    include: ['main.mts'],
  }, null, 2));
  writeFileSync(join(project, 'main.mts'), `import * as torl from 'torl';
import type { GrpoLossOptions, SamplingParams } from 'torl';

const x = torl.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
const w = torl.tensor([1, 0, 0, 0, 1, 1], [2, 3]);
const y = torl.ops.linear(x, w);
console.log('linear', JSON.stringify(y.shape), Array.from(y.toArray() as Float32Array).join(','));

const opts: GrpoLossOptions = { clipRatio: 0.2, klType: 'k3' };
console.log('grpo options', JSON.stringify(opts));

const model = torl.Model.random(torl.qwen2Config({ hiddenSize: 64, numHiddenLayers: 2, vocabSize: 256, bosTokenId: 0, eosTokenId: 1 }), { seed: 1 });
const engine = new torl.Engine(model, { kvCacheTokens: 1024 });
const params: SamplingParams = { n: 2, temperature: 1, maxTokens: 8, seed: 0, ignoreEos: true };
const [out] = await engine.generate([[5, 17, 42]], params);
console.log('generate', JSON.stringify(out!.outputs.map((o) => o.tokenIds.length)), out!.outputs.every((o) => o.tokenIds.every((id) => id >= 0 && id < 256)));
engine.dispose();

// installed under the machine's tmp dir, which the sandbox's box hides and binds back
const sb = new torl.PythonSandbox({ workers: 1, preload: ['math'] });
const info = await sb.info();
const runs = [await sb.run({ code: 'print(6 * 7)' }), await sb.run({ code: 'import math; print(math.factorial(5))' })];
console.log('sandbox', info.isolation, info.guarantees.secure, runs.map((r) => r.stdout.trim()).join(','));
await sb.close();
`);
  const started = Date.now();
  const inst = npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'typescript@~5.9.3', '@types/node@^20'], { cwd: project, env: { TORL_CUDA: 'off' } });
  t.equal(inst.status, 0, `npm install: ${String(inst.stderr).slice(-3000)}`);
  t.comment(`npm install of the tarball (with the native build): ${((Date.now() - started) / 1000).toFixed(0)} s`);
  t.ok(existsSync(join(project, 'node_modules', 'torl', 'build', 'Release', 'torl.node')), 'the install built the addon from the shipped sources');
  const tsc = spawnSync(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { encoding: 'utf8', cwd: project });
  t.equal(tsc.status, 0, `tsc: ${tsc.stdout.slice(-3000)}`);
  const run = spawnSync(process.execPath, [join(project, 'out', 'main.mjs')], { encoding: 'utf8', cwd: project, timeout: 120_000 });
  t.equal(run.status, 0, `node out/main.mjs: ${run.stderr.slice(-2000)}`);
  t.match(run.stdout, /^linear \[2,2\] 1,5,4,11$/m, 'ops.linear: x·wᵀ');
  t.match(run.stdout, /^grpo options \{"clipRatio":0\.2,"klType":"k3"\}$/m);
  t.match(run.stdout, /^generate \[8,8\] true$/m, 'Engine.generate: n = 2 samples of 8 tokens');
  t.match(run.stdout, /^sandbox namespaces true 42,120$/m, 'PythonSandbox boxes itself in from an install under /tmp, request after request');
  const cli = spawnSync(join(project, 'node_modules', '.bin', 'torl'), ['--help'], { encoding: 'utf8', cwd: project });
  t.equal(cli.status, 0, 'the torl bin runs');
  t.match(cli.stdout, /demo/);
  t.end();
});
