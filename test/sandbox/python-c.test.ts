// A snippet's world is that of `python3 -c`: each snippet here runs both under
// `<the sandbox's interpreter> -c code`, spawned from node (child_process.spawn) with the
// snippets' environment, and in the sandbox, and the two must agree: signal dispositions
// and mask, SIGINT (KeyboardInterrupt), SIGPIPE, stdin, argv, __main__, sys.path[0], exit
// codes. Where they cannot agree the difference is asserted and says why.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { PythonSandbox } from '../../lib/sandbox/index.js';

const sb = new PythonSandbox({ workers: 1, preload: ['math'] });
const cwd = mkdtempSync(join(tmpdir(), 'torl-python-c-'));
t.teardown(async () => {
  await sb.close();
  rmSync(cwd, { recursive: true, force: true });
});

interface Outcome {
  returnCode: number | null;
  stdout: string;
  stderr: string;
}

let python = '';
let env: Record<string, string> = {};

/** `python -c code` from node, stdin written and closed (empty when none is given). */
function plain(code: string, stdin = ''): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const p = spawn(python, ['-c', code], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ returnCode: code ?? -constants.signals[signal!], stdout, stderr }));
    p.stdin.end(stdin);
  });
}

/** The same snippet both ways: [python -c, sandbox, sandbox status]. */
async function both(code: string, stdin?: string): Promise<[Outcome, Outcome, string]> {
  const a = await plain(code, stdin);
  const r = await sb.run({ code, stdin });
  return [a, { returnCode: r.returnCode, stdout: r.stdout, stderr: r.stderr }, r.status];
}

const lastLine = (s: string) => s.trimEnd().split('\n').pop();

t.before(async () => {
  python = (await sb.info()).python.executable;
  // The snippets' environment, with HOME and TMPDIR (the scratch directory) pointed at ours.
  const r = await sb.run({ code: 'import os, json\nprint(json.dumps(dict(os.environ)))' });
  env = { ...(JSON.parse(r.stdout) as Record<string, string>), HOME: cwd, TMPDIR: cwd };
});

t.test('signal dispositions and the blocked mask', async (t) => {
  const code = `import json, signal
h = {}
for s in signal.valid_signals():
    try:
        v = signal.getsignal(s)
    except (OSError, ValueError) as e:
        v = type(e).__name__
    h[int(s)] = v if v is None or isinstance(v, str) else getattr(v, '__name__', None) or int(v)
status = dict(l.split(':\t') for l in open('/proc/self/status').read().splitlines() if l.startswith(('SigBlk', 'SigIgn', 'SigCgt')))
print(json.dumps({'handlers': h, 'blocked': sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])), 'status': status}))`;
  const [a, b] = await both(code);
  const pa = JSON.parse(a.stdout) as { handlers: Record<string, unknown>; blocked: number[] };
  t.same(JSON.parse(b.stdout), pa);
  t.equal(pa.handlers[constants.signals.SIGINT], 'default_int_handler', 'SIGINT raises KeyboardInterrupt');
  t.same(pa.blocked, []);
});

t.test('SIGINT: KeyboardInterrupt, then the process ends by SIGINT', async (t) => {
  for (const code of ['import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(5)', 'raise KeyboardInterrupt']) {
    const [a, b, status] = await both(code);
    t.equal(a.returnCode, -constants.signals.SIGINT, 'python -c is killed by SIGINT (130 in a shell)');
    t.same(b, a, 'the same traceback and return code');
    t.equal(lastLine(b.stderr), 'KeyboardInterrupt');
    t.equal(status, 'killed');
  }
  // With SIGINT blocked python -c cannot kill itself and exits 128 + SIGINT.
  const [a, b] = await both('import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])\nraise KeyboardInterrupt');
  t.equal(a.returnCode, 130);
  t.same(b, a);
  // Caught, it is an ordinary exception.
  const [c, d] = await both('import os, signal, time\ntry:\n    os.kill(os.getpid(), signal.SIGINT)\n    time.sleep(5)\nexcept KeyboardInterrupt:\n    print("caught")');
  t.same(d, c);
  t.equal(d.stdout, 'caught\n');
});

t.test('SIGPIPE: ignored by the interpreter, default again in its subprocesses', async (t) => {
  const code = `import subprocess, sys
p = subprocess.Popen([sys.executable, '-c', ''], stdin=subprocess.PIPE)
p.wait()
try:
    p.stdin.write(b'x' * 200000)
    p.stdin.flush()
except BrokenPipeError as e:
    print('BrokenPipeError', e.errno)
r = subprocess.run(['/bin/sh', '-c', 'grep -E "^Sig(Blk|Ign)" /proc/self/status'], capture_output=True, text=True)
print(r.stdout.strip())
r = subprocess.run('yes | head -c 3 >/dev/null; echo "\${PIPESTATUS[0]}"', shell=True, executable='/bin/bash', capture_output=True, text=True)
print(r.stdout.strip())`;
  const [a, b] = await both(code);
  t.same(b, a);
  t.equal(a.stdout, 'BrokenPipeError 32\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n141\n', 'EPIPE here; SIGPIPE kills `yes` (128 + 13)');
});

t.test('stdin exactly as given', async (t) => {
  const given = 'first line\nsecond, ünïcode ✓\n\nlast without newline';
  const cases = [
    'import sys\na = input()\nprint(repr(a), repr(sys.stdin.read()))',
    'import sys\nprint(repr(sys.stdin.buffer.read()))',
    'import sys\nprint([repr(l) for l in sys.stdin])',
    'import sys\nprint(sys.stdin.readlines())\ninput()',
    'print(input())\nprint(input())\nprint(input())\nprint(input())\ninput()',
  ];
  for (const code of cases) {
    const [a, b] = await both(code, given);
    t.same(b, a, code);
  }
  for (const code of ['import sys\nprint(repr(sys.stdin.read()), sys.stdin.encoding, sys.stdin.errors)', 'input()']) {
    const [a, b] = await both(code);
    t.same(b, a, `no stdin: ${code}`);
  }
  const [, b] = await both('input()');
  t.equal(lastLine(b.stderr), 'EOFError: EOF when reading a line');
  // The one difference: python -c here reads a socket (node's stdio pipes), the sandbox's
  // descriptor 0 is a file (a memfd) the child filled before the snippet started (a pipe
  // could not hold more than 64 KiB before the snippet reads it). sys.stdin still says it is
  // not seekable (its answer was cached when the worker's interpreter started on node's socket),
  // but os.fstat(0) and os.lseek(0, ...) tell.
  const [c, d] = await both('import sys, os, stat\nprint(sys.stdin.seekable(), stat.S_ISREG(os.fstat(0).st_mode))', 'x');
  t.equal(c.stdout, 'False False\n');
  t.equal(d.stdout, 'False True\n');
});

t.test('argv, __main__, sys.path[0], orig_argv', async (t) => {
  const code = `import sys
print(sys.argv, __name__, list(globals()))
print(__loader__, __spec__, __package__, __doc__, __builtins__)
print(repr(sys.path[0]), sys.orig_argv[1:], sys.flags)
print(sys.stdout.encoding, sys.stdout.errors, sys.stderr.errors)
import __main__
print(__main__.__dict__ is globals())`;
  const [a, b] = await both(code);
  t.same(b, a);
  t.match(a.stdout, /^\['-c'\] __main__ /);
});

t.test('exit codes and what is printed', async (t) => {
  const cases: [string, number][] = [
    ['pass', 0],
    ['import sys\nsys.exit()', 0],
    ['import sys\nsys.exit(3)', 3],
    ['import sys\nsys.exit(-1)', 255],
    ['import sys\nsys.exit(256)', 0],
    ['raise SystemExit(True)', 1],
    ["raise SystemExit('a message')", 1],
    ["import sys\nsys.exit(['not', 'a', 'number'])", 1],
    ['1 / 0', 1],
    ['def f():\n    raise ValueError("deep")\nf()', 1],
    ['import sys\nsys.excepthook = lambda *a: print("hooked", a[0].__name__)\nraise ValueError', 1],
    ['import atexit\natexit.register(print, "at exit")\nraise SystemExit(4)', 4],
    ['import threading, time\nthreading.Thread(target=lambda: (time.sleep(0.2), print("joined"))).start()', 0],
    ['x = (', 1],
  ];
  for (const [code, rc] of cases) {
    const [a, b] = await both(code);
    t.equal(a.returnCode, rc, `python -c: ${code}`);
    t.same(b, a, code);
  }
});
