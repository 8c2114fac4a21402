// The local pool on benign code: results, stdin/files, output handling, concurrency,
// determinism, a worker killed from outside, bad input, close().
import { existsSync } from 'node:fs';
import t from 'tap';
import { PythonSandbox, type RunResult } from '../../lib/sandbox/index.js';
import { canImport, eventually, processesOf, randomUidBase } from './procs.js';

const workers = 2;
const uidBase = randomUidBase();
const sb = new PythonSandbox({ workers, uidBase, timeoutMs: 10_000, maxOutputBytes: 1000 });
t.teardown(() => sb.close());

/**
 * The scientific modules the interpreter itself can import, asked outside the sandbox
 * (CI installs them): the sandbox must then report them and run them, and where the
 * interpreter lacks one its checks skip, saying so.
 */
const SCIENTIFIC = ['numpy', 'sympy', 'scipy'] as const;
const installed = new Set(SCIENTIFIC.filter(canImport));
const needs = (m: (typeof SCIENTIFIC)[number]) => (installed.has(m) ? {} : { skip: `python3 here cannot import ${m}` });

const run = (code: string, extra: Partial<Parameters<typeof sb.run>[0]> = {}) => sb.run({ code, ...extra });
const out = (r: RunResult) => [r.status, r.stdout];

t.test('info names the isolation, python and modules', async (t) => {
  const info = await sb.info();
  t.match(info.python.version, /^3\.\d+\.\d+$/);
  t.equal(info.workers, workers);
  t.equal(info.workerPids.length, workers);
  t.equal(info.isolation, 'namespaces', "'auto' boxes the workers in itself");
  t.equal(info.guarantees.secure, true);
  t.ok(info.preloaded.includes('math') && info.preloaded.includes('fractions'));
  for (const m of SCIENTIFIC) {
    const version = info.modules[m];
    if (installed.has(m)) t.match(version, /^\d+\.\d+/, `reports ${m}'s version`);
    else t.equal(version, null, `reports ${m} missing`);
  }
});

t.test('sympy runs in the sandbox', needs('sympy'), async (t) => {
  t.same(out(await run('import sympy\nx = sympy.Symbol("x")\nprint(sorted(sympy.solve(x**2 - 5*x + 6, x)))')), ['ok', '[2, 3]\n']);
});

t.test('numpy runs in the sandbox', needs('numpy'), async (t) => {
  t.same(out(await run('import numpy as np\nprint(round(float(np.linalg.det(np.array([[2., 1.], [1., 3.]]))), 6))')), ['ok', '5.0\n']);
});

t.test('scipy runs in the sandbox', needs('scipy'), async (t) => {
  t.same(out(await run('from scipy.special import comb\nprint(int(comb(10, 3, exact=True)))')), ['ok', '120\n']);
});

t.test('benign programs', async (t) => {
  t.same(out(await run('print("hello")')), ['ok', 'hello\n']);
  t.same(out(await run('from fractions import Fraction\nprint(Fraction(1, 3) + Fraction(1, 6))')), ['ok', '1/2\n']);
  const prog = 'def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\nfor k in (10, 20, 30):\n    print(k, fib(k))';
  t.same(out(await run(prog)), ['ok', '10 55\n20 6765\n30 832040\n']);
  t.same(out(await run('import math, itertools\nprint(math.comb(10, 3), len(list(itertools.permutations(range(4)))))')), ['ok', '120 24\n']);
  t.same(out(await run('a = int(input())\nb = int(input())\nprint(a * b)', { stdin: '6\n7\n' })), ['ok', '42\n']);
  t.same(out(await run('print(open("data/n.txt").read().split())', { files: { 'data/n.txt': '3 4\n' } })), ['ok', "['3', '4']\n"]);
  const err = await run('x = 1\n1 / 0');
  t.equal(err.status, 'error');
  t.equal(err.returnCode, 1);
  t.equal(err.stderr, 'Traceback (most recent call last):\n  File "<string>", line 2, in <module>\nZeroDivisionError: division by zero\n');
  const syntax = await run('def f(:');
  t.equal(syntax.status, 'error');
  t.match(syntax.stderr, /SyntaxError/);
  t.same([(await run('import sys\nsys.exit(3)')).returnCode, (await run('import sys\nsys.exit()')).status], [3, 'ok']);
  const eof = await run('input()');
  t.equal(eof.status, 'error');
  t.equal(eof.returnCode, 1);
  t.match(eof.stderr, /\nEOFError: EOF when reading a line\n$/, 'no stdin: EOFError');
});

t.test('warm() resolves once every worker has its next child ready', async (t) => {
  await sb.warm();
  const pending = [run('print(1)'), run('print(2)')];
  const warmed = sb.warm();
  t.same((await Promise.all(pending)).map(out), [['ok', '1\n'], ['ok', '2\n']]);
  await warmed;
  t.same(out(await run('print(3)')), ['ok', '3\n']);
});

t.test('the snippet reads its own /proc/self as under `python3 -c`', async (t) => {
  const r = await run('import os\nprint(sorted(int(f) for f in os.listdir("/proc/self/fd"))[:3])');
  t.same(out(r), ['ok', '[0, 1, 2]\n']);
});

t.test('each run starts fresh: no state leaks between snippets', async (t) => {
  await run('import math\nmath.leak = 1\nopen("left.txt", "w").write("x")\nglobal_value = 5');
  const r = await run('import math, os\nprint(hasattr(math, "leak"), os.listdir("."), "global_value" in globals())');
  t.same(out(r), ['ok', 'False [] False\n']);
});

t.test('output: byte limit, invalid UTF-8 replaced per character, binary safe', async (t) => {
  const big = await run('print("x" * 5000)\nimport sys\nprint("e" * 3000, file=sys.stderr)');
  t.equal(big.status, 'ok');
  t.equal(big.truncated, true);
  t.equal(big.stdout, 'x'.repeat(1000));
  t.equal(big.stderr, 'e'.repeat(1000));
  const bad = await run('import sys\nsys.stdout.buffer.write(b"a\\xffb\\xc3\\xa9\\x00z\\xe2\\x82")');
  t.equal(bad.stdout, 'a\uFFFDb\u00e9\u0000z\uFFFD');
  t.equal(bad.truncated, false);
  // A multi-byte character cut by the limit is dropped, not replaced.
  const cut = await run('print("a" * 999 + "\\u00e9")');
  t.equal(cut.stdout, 'a'.repeat(999));
  t.equal(cut.truncated, true);
});

// Independent references computed here in JS.
const program = (i: number) => ({
  code: `n = ${i}\nprint(sum(k * k for k in range(n)), n % 7)`,
  expected: `${Array.from({ length: i }, (_, k) => k * k).reduce((a, b) => a + b, 0)} ${i % 7}\n`,
});

t.test('200 concurrent requests across the pool', async (t) => {
  const progs = Array.from({ length: 200 }, (_, i) => program(i));
  const results = await Promise.all(progs.map((p) => sb.run({ code: p.code })));
  t.equal(results.filter((r, i) => r.status === 'ok' && r.stdout === progs[i]!.expected).length, 200);
  t.equal(new Set(results.map((r) => r.id)).size, 200, 'distinct ids');
});

t.test('results are identical sequentially and concurrently', async (t) => {
  const codes = [
    'print(2 ** 100)',
    'import fractions\nprint(sum(fractions.Fraction(1, k) for k in range(1, 20)))',
    '1/0',
    'import sys\nprint("to stderr", file=sys.stderr)\nsys.exit(2)',
    'print(sorted({3, 1, 2}))',
    'import random\nrandom.seed(7)\nprint(random.random())',
    ...Array.from({ length: 10 }, (_, i) => program(i * 13).code),
  ];
  const strip = (r: RunResult) => [r.status, r.returnCode, r.stdout, r.stderr];
  const seq: unknown[] = [];
  for (const code of codes) seq.push(strip(await sb.run({ code })));
  const conc = (await Promise.all(codes.map((code) => sb.run({ code })))).map(strip);
  t.same(conc, seq);
});

t.test('a worker killed from outside mid-request: crashed, then the pool recovers', async (t) => {
  const before = (await sb.info()).workerPids;
  const slow = Array.from({ length: workers }, () => run('import time\ntime.sleep(30)\nprint("never")', { timeoutMs: 60_000 }));
  await new Promise((r) => setTimeout(r, 1000));
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (m: unknown) => void warned.push(String(m));
  t.teardown(() => void (console.warn = warn));
  for (const pid of before) process.kill(pid, 'SIGKILL');
  const results = await Promise.all(slow);
  console.warn = warn;
  t.equal(warned.filter((w) => /^\[torl sandbox\] worker \d \(pid \d+\) ended unasked \(signal SIGKILL; its stderr: .*\); starting another$/s.test(w)).length, workers, 'each death is reported, with its stderr', { warned });
  t.same(results.map((r) => r.status), Array(workers).fill('crashed'));
  t.match(results[0]!.stderr, /worker died/);
  t.same(out(await run('print("back")')), ['ok', 'back\n']);
  const after = (await sb.info()).workerPids;
  t.notSame(after, before, 'workers were replaced');
  const uids = new Set(Array.from({ length: workers }, (_, i) => uidBase + i));
  const onlySpares = () => processesOf(uids).length <= workers;
  t.ok(await eventually(onlySpares), 'nothing of the killed requests survives', { left: processesOf(uids) });
});

t.test('bad input gets errors that name the field', async (t) => {
  await t.rejects(sb.run({ code: 42 as unknown as string }), /"code" must be a string/);
  await t.rejects(sb.run({ code: 'pass', timeoutMs: -1 }), /"timeoutMs"/);
  await t.rejects(sb.run({ code: 'pass', files: { '../x': '' } }), /plain relative path/);
  t.throws(() => new PythonSandbox({ workers: 0 }), /"workers"/);
  t.throws(() => new PythonSandbox({ isolation: 'docker' as 'auto' }), /"isolation" must be 'auto', 'namespaces', 'bwrap', 'rlimits', got docker/);
  t.throws(() => new PythonSandbox({ allowInsecure: 'yes' as unknown as boolean }), /^PythonSandbox: "allowInsecure" must be true or false, got "yes"$/);
  await t.rejects(new PythonSandbox({ python: '/nonexistent/python3' }).info(), /cannot run the interpreter/);
  const missing = new PythonSandbox({ workers: 1, preload: ['no_such_module_xyz'] });
  await t.rejects(missing.info(), /preload failed: no_such_module_xyz/);
  await missing.close();
});

t.test('an isolation that cannot work here is refused, naming why', async (t) => {
  await t.rejects(
    new PythonSandbox({ workers: 1, isolation: 'bwrap', bwrap: '/nonexistent/bwrap' }).info(),
    /^PythonSandbox: isolation 'bwrap' requested but bwrap fails here \(.*ENOENT/,
  );
  await t.rejects(
    new PythonSandbox({ workers: 1, isolation: 'rlimits' }).info(),
    /^PythonSandbox: isolation 'rlimits' boxes nothing in \(no namespaces, no read-only root\); pass allowInsecure: true/,
  );
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const insecure = new PythonSandbox({ workers: 1, preload: ['math'], isolation: 'rlimits', allowInsecure: true, python, uidBase: randomUidBase() });
  const info = await insecure.info();
  t.equal(info.isolation, 'rlimits');
  t.equal(info.guarantees.secure, false, 'rlimits is never called secure');
  t.same(out(await insecure.run({ code: 'print(1)' })), ['ok', '1\n']);
  await insecure.close();
});

t.test('queue limit and close()', async (t) => {
  const small = new PythonSandbox({ workers: 1, maxQueue: 2, preload: ['math'], uidBase: randomUidBase() });
  await small.info();
  const first = small.run({ code: 'import time\ntime.sleep(0.5)\nprint(1)' });
  const queued = [small.run({ code: 'print(2)' }), small.run({ code: 'print(3)' })];
  await new Promise((r) => setImmediate(r));
  await t.rejects(small.run({ code: 'print(4)' }), /queue full/);
  t.same(out(await first), ['ok', '1\n']);
  t.same((await Promise.all(queued)).map(out), [['ok', '2\n'], ['ok', '3\n']]);
  await small.close();
  await t.rejects(small.run({ code: 'print(5)' }), /after close/);
});
