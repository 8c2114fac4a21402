// Hostile snippets against both isolation modes. Safety first: nothing hostile runs
// unless the sandbox reports the protections that contain it (uid drop to a uid that
// owns no other process, RLIMIT_NPROC, seccomp; in bwrap mode also PID/net namespaces).
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { PythonSandbox, type RunResult } from '../../lib/sandbox/index.js';
import { eventually, processesOf, randomUidBase } from './procs.js';

interface Case {
  name: string;
  code: string;
  timeoutMs?: number;
  memoryMb?: number;
  check: (r: RunResult) => boolean;
}

const SECRET_FILE = `/tmp/torl-sandbox-secret-${process.pid}`;
const SYSTEM_PATH = `/etc/torl-sandbox-probe-${process.pid}`;
process.env.TORL_SANDBOX_TEST_SECRET = 'do-not-leak';

const lastLine = (s: string) => s.trim().split('\n').pop() ?? '';
const out = (r: RunResult) => [r.status, r.stdout];

const CASES: Case[] = [
  { name: 'infinite loop', code: 'while True: pass', timeoutMs: 1500, check: (r) => r.status === 'timeout' && r.returnCode === -9 },
  { name: 'sleeps past the wall clock', code: 'import time\nprint("start", flush=True)\ntime.sleep(30)', timeoutMs: 800, check: (r) => r.status === 'timeout' && r.stdout === 'start\n' },
  { name: 'one huge allocation', code: 'x = bytearray(64 << 30)', memoryMb: 256, check: (r) => r.status === 'oom' && lastLine(r.stderr) === 'MemoryError' },
  { name: 'memory growth', code: 'a = []\nwhile True: a.append(bytearray(1 << 24))', memoryMb: 128, timeoutMs: 30_000, check: (r) => r.status === 'oom' },
  { name: 'segfault', code: 'import ctypes\nctypes.string_at(0)', check: (r) => r.status === 'crashed' && r.returnCode === -11 },
  { name: 'abort', code: 'import os\nos.abort()', check: (r) => r.status === 'crashed' && r.returnCode === -6 },
  {
    name: 'sabotages the harness',
    code: 'import os, json, sys\nprint("out")\njson.dumps = None\nos.write = None\nos._exit = None\nsys.exit(5)',
    check: (r) => r.status === 'error' && r.returnCode === 5 && r.stdout === 'out\n',
  },
  { name: 'os._exit', code: 'import os\nprint("bye", flush=True)\nos._exit(7)', check: (r) => r.status === 'error' && r.returnCode === 7 && r.stdout === 'bye\n' },
  { name: 'kills itself', code: 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)', check: (r) => r.status === 'killed' && r.returnCode === -9 },
  { name: 'kills its parent', code: 'import os\nos.kill(os.getppid(), 9)', check: (r) => r.status === 'error' && lastLine(r.stderr).startsWith('PermissionError') },
  {
    name: 'kill(-1, SIGKILL)',
    code: 'import os\ntry:\n    os.kill(-1, 9)\nexcept ProcessLookupError:\n    pass\nprint("still here")',
    check: (r) => r.status === 'ok' && r.stdout === 'still here\n',
  },
  { name: 'fork bomb', code: 'import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass', timeoutMs: 1500, check: (r) => r.status === 'timeout' },
  { name: 'writes a system path', code: `open(${JSON.stringify(SYSTEM_PATH)}, "w").write("x")`, check: (r) => r.status === 'error' && /^(PermissionError|OSError)/.test(lastLine(r.stderr)) },
  { name: "reads the trainer's private file", code: `print(open(${JSON.stringify(SECRET_FILE)}).read())`, check: (r) => r.status === 'error' && /^(PermissionError|FileNotFoundError)/.test(lastLine(r.stderr)) },
  { name: 'opens a network connection', code: 'import socket\nsocket.create_connection(("1.1.1.1", 53), timeout=2)', check: (r) => r.status === 'error' && /^(PermissionError|OSError)/.test(lastLine(r.stderr)) },
  {
    name: 'creates a user namespace',
    code: 'import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.unshare(0x10000000), ctypes.get_errno())',
    check: (r) => r.status === 'ok' && r.stdout === '-1 1\n',
  },
  {
    name: 'ptraces its parent',
    code: 'import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.ptrace(16, os.getppid(), 0, 0), ctypes.get_errno())',
    check: (r) => r.status === 'ok' && r.stdout === '-1 1\n',
  },
  {
    name: 'looks for secrets in the environment',
    code: 'import os\nprint("TORL_SANDBOX_TEST_SECRET" in os.environ)\ntry:\n    print(b"do-not-leak" in open("/proc/1/environ", "rb").read())\nexcept OSError:\n    print(False)',
    check: (r) => r.status === 'ok' && r.stdout === 'False\nFalse\n',
  },
  {
    name: 'background process holding the output pipe',
    code: 'import subprocess\nsubprocess.Popen(["sleep", "60"], start_new_session=True)\nprint("done")',
    timeoutMs: 20_000,
    check: (r) => r.status === 'ok' && r.stdout === 'done\n',
  },
  {
    name: "floods the harness's status channel (fd 3)",
    code: 'import os\nfor i in range(2000):\n    os.write(3, b"{\\"pid\\": 1, \\"written\\": []}\\n" * 2000)\nprint("done")',
    timeoutMs: 20_000,
    check: (r) => r.status === 'ok' && r.stdout === 'done\n',
  },
  {
    name: 'double-forked daemon',
    code: 'import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(60)\n    os._exit(0)\nos.wait()\nprint("parent")',
    timeoutMs: 20_000,
    check: (r) => r.status === 'ok' && r.stdout === 'parent\n',
  },
];

/** The interpreter for rlimits mode: the snippet's unprivileged uid must be able to read it. */
const SYSTEM_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

for (const mode of ['bwrap', 'rlimits'] as const) {
  t.test(`hostile code, isolation ${mode}`, async (t) => {
    const workers = 2;
    const uidBase = randomUidBase();
    const uids = new Set(Array.from({ length: workers }, (_, i) => uidBase + i));
    writeFileSync(SECRET_FILE, 'secret', { mode: 0o600 });
    t.teardown(() => rmSync(SECRET_FILE, { force: true }));
    const sb = new PythonSandbox({
      workers,
      isolation: mode,
      uidBase,
      preload: ['math'],
      timeoutMs: 5000,
      maxProcesses: 16,
      ...(mode === 'rlimits' ? { python: SYSTEM_PYTHON } : {}),
    });
    t.teardown(() => sb.close());
    const info = await sb.info();
    t.equal(info.isolation, mode);
    const g = info.guarantees;
    // The containment every case below relies on; without it, run nothing hostile.
    const contained = g.uidDrop && g.processLimit && g.seccomp && (mode === 'rlimits' || (g.pidNamespace && g.networkNamespace));
    t.ok(contained, `containment in force: ${JSON.stringify(g)}`);
    if (!contained) return;
    t.equal(g.secure, true);

    for (const c of CASES) {
      const r = await sb.run({ code: c.code, timeoutMs: c.timeoutMs, memoryMb: c.memoryMb });
      t.ok(c.check(r), c.name, { result: r });
    }
    t.notOk(existsSync(SYSTEM_PATH), 'nothing was written to /etc');

    // Files left in the world-writable directories do not reach the next request (one
    // request per worker, concurrently, so each worker is checked).
    // Each request leaves its own names: in rlimits mode the directories are shared by
    // the workers (different uids), so equal names would collide between them.
    const pathsOf = (i: number) =>
      ['/tmp', '/var/tmp', '/dev/shm'].flatMap((d) => [`${d}/torl-left-${process.pid}-${i}`, `${d}/torl-left-${process.pid}-${i}.txt`]);
    const paths = Array.from({ length: workers }, (_, i) => pathsOf(i)).flat();
    const leave = (i: number) =>
      `import os\nfor p in ${JSON.stringify(pathsOf(i))}:\n    os.makedirs(p + "/sub") if not p.endswith(".txt") else open(p, "w").write("x")\nprint("left")`;
    const look = `import os\nprint([p for p in ${JSON.stringify(paths)} if os.path.exists(p)])`;
    const left = await Promise.all(Array.from({ length: workers }, (_, i) => sb.run({ code: leave(i) })));
    t.same(left.map(out), Array(workers).fill(['ok', 'left\n']), 'snippets may write to /tmp, /var/tmp, /dev/shm');
    // (In rlimits mode these are the machine's directories, shared by the workers: wait
    // until every worker has cleaned up after its request.)
    t.ok(await eventually(() => paths.every((p) => !existsSync(p))), 'the host keeps none of it');
    const seen = await Promise.all(Array.from({ length: workers }, () => sb.run({ code: look })));
    t.same(seen.map(out), Array(workers).fill(['ok', '[]\n']), 'and the next request finds none of it');

    // Nothing the requests started outlives them: only the prepared spares (one per
    // worker, the worker's own interpreter) run as the snippet uids.
    const clean = () => {
      const left = processesOf(uids);
      return left.length <= workers && left.every((p) => p.comm.startsWith('python'));
    };
    t.ok(await eventually(clean), 'no leftover processes', { left: processesOf(uids) });

    const after = await Promise.all([sb.run({ code: 'print(6 * 7)' }), sb.run({ code: 'print(6 * 8)' })]);
    t.same(after.map((r) => [r.status, r.stdout]), [['ok', '42\n'], ['ok', '48\n']], 'the pool still serves');
    await sb.close();
    t.same(processesOf(uids), [], 'close() leaves no process of the snippet uids');
  });
}
