// Every code block of README.md runs as written. A ```ts block is extracted (with `from "torl"`
// pointed at lib/index.ts), type-checked strictly against the library's own types, and run with tsx;
// each `// prints: X` comment must appear in what it prints, and every run block has at least one.
// A block that cannot run here (a 1.5B model, a GPU, the install itself) carries, on the line above
// its fence, `<!-- readme-test: skip: why; what runs its tiny version -->`: it is skipped visibly with
// that reason (a skipped ts block is still type-checked). ```text blocks are program output, not code.
// Any other block without the marker fails.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');

interface Block { lang: string; code: string; line: number; heading: string; skip: string | null }
const blocks: Block[] = [];
let heading = '(top)';
for (let i = 0; i < lines.length; i++) {
  const l = lines[i]!;
  if (/^#{1,4} /.test(l)) heading = l.replace(/^#+ /, '');
  const open = /^```(\S*)\s*$/.exec(l);
  if (!open) continue;
  const start = i;
  let end = i + 1;
  while (end < lines.length && lines[end] !== '```') end++;
  if (end === lines.length) throw new Error(`README.md:${start + 1}: a fence never closed`);
  const marker = /^<!-- readme-test: skip: (.+) -->$/.exec(lines[start - 1] ?? '');
  blocks.push({ lang: open[1]!, code: lines.slice(start + 1, end).join('\n') + '\n', line: start + 1, heading, skip: marker?.[1] ?? null });
  i = end;
}

const dir = mkdtempSync(join(tmpdir(), 'torl-readme-'));
const lib = join(root, 'lib', 'index.ts');
const fileOf = (b: Block) => join(dir, `readme-${b.line}.mts`);
const ts = blocks.filter((b) => b.lang === 'ts');
for (const b of ts) writeFileSync(fileOf(b), b.code.replace(/from "torl"/g, `from ${JSON.stringify(lib)}`));

t.test('the README has its blocks, each known', (t) => {
  t.ok(ts.length >= 10, `${ts.length} ts blocks`);
  for (const b of blocks) {
    if (b.lang === 'ts' || b.lang === 'text') continue;
    t.ok(b.skip, `README.md:${b.line} (${b.heading}): a \`\`\`${b.lang || '(no language)'} block must run or say why not (<!-- readme-test: skip: … -->)`);
  }
  for (const b of ts) t.match(b.code, /^import \* as torl from "torl";$/m, `README.md:${b.line} (${b.heading}) imports torl itself`);
  t.end();
});

t.test('every ts block type-checks (strict, NodeNext, torl = lib/index.ts)', (t) => {
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022', lib: ['ES2022'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
      allowImportingTsExtensions: true, skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
    },
    files: ts.map(fileOf),
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', timeout: 300_000 });
  t.equal(r.status, 0, `tsc: ${r.stdout.slice(-3000)}${r.stderr.slice(-1000)}`);
  t.end();
});

for (const b of blocks) {
  const name = `README.md:${b.line} ${b.heading} (${b.lang || 'text'})`;
  if (b.lang === 'text') continue;
  if (b.skip) {
    t.test(name, { skip: b.skip }, () => {});
    continue;
  }
  if (b.lang !== 'ts') continue;
  t.test(name, (t) => {
    const expected = [...b.code.matchAll(/\/\/ prints: (.+)$/gm)].map((m) => m[1]!.trim());
    t.ok(expected.length > 0, 'the block says what it prints');
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileOf(b)], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    t.equal(r.status, 0, `exit status (stderr: ${r.stderr.slice(-2000)})`);
    for (const e of expected) t.ok(r.stdout.includes(e), `prints ${JSON.stringify(e)} (stdout: ${JSON.stringify(r.stdout.slice(-600))})`);
    t.end();
  });
}
