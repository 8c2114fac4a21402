#!/usr/bin/env node
// `npm run bench -- <name> [args...]` runs bench/<name>.ts (TypeScript through tsx).
// Every benchmark prints a readable table and, as its last line, one JSON object
// with its figures and the ratios to the reference measured in the same run.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...rest] = process.argv.slice(2);
const available = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const usage = `usage: npm run bench -- <name> [args]\n  available: ${available.join(', ') || '(none)'}`;
if (!name || name === '--help' || name === '-h') {
  // listing is what was asked for: exit 0
  console.log(usage);
  process.exit(0);
}
if (!available.includes(name)) {
  console.error(`npm run bench: no benchmark '${name}' (bench/${name}.ts)\n${usage}`);
  process.exit(2);
}
const file = join(root, 'bench', `${name}.ts`);
const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...rest], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
