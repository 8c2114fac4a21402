// The README's Engine example runs as written (extracted from README.md, with
// `from "torl"` pointed at lib/index.ts, run by tsx).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### Generation engine'));
const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];

t.test('README: the Generation engine example', (t) => {
  t.ok(block, 'the section has a ts block');
  const dir = mkdtempSync(join(tmpdir(), 'torl-readme-'));
  const file = join(dir, 'engine-example.mts');
  writeFileSync(file, block!.replace(/from "torl"/g, `from ${JSON.stringify(join(root, 'lib/index.ts'))}`) + '\nconsole.log("EXAMPLE-OK", JSON.stringify(out.outputs.map((o) => o.tokenIds.length)));\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, `exit status (stderr: ${r.stderr.slice(-2000)})`);
  t.match(r.stdout, /EXAMPLE-OK \[\d+,\d+,\d+,\d+\]/, 'it generated n = 4 outputs');
  t.end();
});
