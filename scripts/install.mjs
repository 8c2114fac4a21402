#!/usr/bin/env node
// Builds or finds the native addon at `npm install`:
//   1. a prebuild (or an existing build) that loads → done (node-gyp-build)
//   2. CMake present → cmake-js (CPU always, CUDA when nvcc is found; TORL_CUDA=on|off|auto)
//   3. otherwise → node-gyp (CPU only)
// `--force` skips step 1 (npm run build:native).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const force = process.argv.includes('--force');

function loads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args, env = {}) {
  console.error(`torl: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return r.status === 0;
}

const has = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;

if (!force && loads()) {
  console.error('torl: native addon found (prebuild or earlier build)');
  process.exit(0);
}

const jobs = String(Math.max(1, cpus().length));
let ok = false;
if (has('cmake')) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const mode = process.env.TORL_CUDA || 'auto';
  // configure every time (cheap, picks up TORL_CUDA and new sources), then build incrementally
  ok =
    run(process.execPath, [cmakeJs, 'configure', `--CDTORL_CUDA=${mode}`]) &&
    run(process.execPath, [cmakeJs, 'build'], { CMAKE_BUILD_PARALLEL_LEVEL: jobs });
} else {
  console.error('torl: cmake not found; building the CPU backend with node-gyp');
  const gyp = process.env.npm_config_node_gyp || require.resolve('node-gyp/bin/node-gyp.js');
  ok = run(process.execPath, [gyp, 'rebuild', `--jobs=${jobs}`]);
}
if (!ok || !loads()) {
  console.error('torl: the native addon could not be built (see the messages above)');
  process.exit(1);
}
