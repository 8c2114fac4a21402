// `npm run bench` with no name lists the benchmarks and exits 0; an unknown name exits 2 naming it.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'scripts', 'bench.mjs');
const names = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));

t.test('no name: the list, exit 0', (t) => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8' });
  t.equal(r.status, 0);
  t.equal(r.stdout, `usage: npm run bench -- <name> [args]\n  available: ${names.join(', ')}\n`);
  t.end();
});

t.test('an unknown name: exit 2, named', (t) => {
  const r = spawnSync(process.execPath, [script, 'no-such-bench'], { encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /no benchmark 'no-such-bench' \(bench\/no-such-bench\.ts\)/);
  t.match(r.stderr, /available: .*gemm/);
  t.end();
});
