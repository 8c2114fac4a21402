// Loads the native addon (a prebuild, or build/Release/torl.node) through
// node-gyp-build, or the file TORL_ADDON names (a bundled deployment, such as
// the GPU check, where the package layout is not there). Nothing else in the
// package touches the binding directly.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { NativeBinding } from '../types/native.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function load(): NativeBinding {
  const require = createRequire(import.meta.url);
  const explicit = process.env.TORL_ADDON;
  try {
    if (explicit) return require(explicit) as NativeBinding;
    return require('node-gyp-build')(root) as NativeBinding;
  } catch (e) {
    throw new Error(
      `torl: the native addon could not be loaded from ${explicit ?? root} (${(e as Error).message}). ` +
        'Build it with `npm run build:native` (needs CMake or node-gyp, and a C++17 compiler).',
    );
  }
}

export const native: NativeBinding = load();
