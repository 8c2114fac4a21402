// Hostile snippets against one isolation setting. Safety first: nothing hostile runs
// unless the sandbox reports the protections that contain it. Used in-process by
// hostile.test.ts (one subtest per mode) and, as a script, in a child process where the
// machine looks different (system packages hidden, or not root):
//   node --import tsx test/sandbox/hostile-suite.ts '<Setting as JSON>'
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { IsolationMode, IsolationRequest } from '../../lib/sandbox/isolation.js';
import { PythonSandbox, type RunResult } from '../../lib/sandbox/index.js';
import { descendantsOf, eventually, processesOf, randomUidBase } from './procs.js';

export interface Setting {
  isolation: IsolationRequest;
  /** The mode the sandbox must pick, or 'refused': it must refuse to start. */
  expect: IsolationMode | 'refused';
  python?: string;
  bwrap?: string;
  allowInsecure?: boolean;
  /** The uid this suite must run as (a child started as another user checks it is). */
  uid?: number;
  /** A directory everyone may write, outside the directories a box hides (default: one
   *  made here, beside the repository's files). */
  openDir?: string;
}

/** A world-writable directory in the repository (not under /tmp, /root, /home, which a
 *  box covers with its own tmpfs): only a read-only root keeps a snippet out of it. */
export function makeOpenDir(): string {
  const d = mkdtempSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.torl-open-'));
  chmodSync(d, 0o1777);
  return d;
}

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
const asRoot = process.getuid?.() === 0;

/** What a snippet may see of its parent: in a box without a uid drop (not root) its
 *  parent is the worker, PID 1 of the box, whom the kernel lets no signal from inside
 *  reach unless it handles it (kill() returns success, nothing happens). */
const parentUntouchable = (r: RunResult) =>
  (r.status === 'error' && lastLine(r.stderr).startsWith('PermissionError')) || (!asRoot && r.status === 'ok');

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
  { name: 'kills its parent', code: 'import os\nos.kill(os.getppid(), 9)', check: parentUntouchable },
  { name: 'interrupts its parent', code: 'import os, signal\nos.kill(os.getppid(), signal.SIGINT)\nos.kill(os.getppid(), signal.SIGTERM)', check: parentUntouchable },
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
    name: 'sends a UDP packet',
    code: 'import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("1.1.1.1", 53))\n    print("sent")\nexcept OSError as e:\n    print(type(e).__name__)',
    check: (r) => r.status === 'ok' && r.stdout !== 'sent\n',
  },
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
    name: "writes its parent's memory",
    code: 'import os\ntry:\n    open("/proc/%d/mem" % os.getppid(), "r+b")\n    print("opened")\nexcept OSError as e:\n    print(type(e).__name__)',
    check: (r) => r.status === 'ok' && /^(PermissionError|FileNotFoundError)\n$/.test(r.stdout),
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

const alive = (pid: number) => existsSync(`/proc/${pid}`);

/** Runs every hostile case under `setting` and asserts containment first. */
export async function hostileSuite(t: Test, setting: Setting): Promise<void> {
  if (setting.uid !== undefined) t.equal(process.getuid?.(), setting.uid, `running as uid ${setting.uid}`);
  const workers = 2;
  const uidBase = randomUidBase();
  const uids = new Set(Array.from({ length: workers }, (_, i) => uidBase + i));
  writeFileSync(SECRET_FILE, 'secret', { mode: 0o600 });
  t.teardown(() => rmSync(SECRET_FILE, { force: true }));
  const sb = new PythonSandbox({
    workers,
    isolation: setting.isolation,
    uidBase,
    preload: ['math'],
    timeoutMs: 5000,
    maxProcesses: 16,
    ...(setting.python ? { python: setting.python } : {}),
    ...(setting.bwrap ? { bwrap: setting.bwrap } : {}),
    ...(setting.allowInsecure ? { allowInsecure: true } : {}),
  });
  t.teardown(() => sb.close());
  if (setting.expect === 'refused') {
    await t.rejects(sb.info(), /no isolation works here .*allowInsecure/, 'refuses to run unboxed');
    return;
  }
  const openDir = setting.openDir ?? makeOpenDir();
  if (!setting.openDir) t.teardown(() => rmSync(openDir, { recursive: true, force: true }));
  const info = await sb.info();
  t.equal(info.isolation, setting.expect, `isolation ${setting.expect} chosen (${info.warnings.join('; ') || 'no warnings'})`);
  const g = info.guarantees;
  // The containment every case below relies on; without it, run nothing hostile.
  const boxed = g.pidNamespace && g.networkNamespace && g.readOnlyRoot && g.ipcUtsNamespaces;
  const contained = g.seccomp && g.processLimit && (setting.expect === 'rlimits' ? g.uidDrop && g.socketsBlocked : boxed);
  t.ok(contained, `containment in force: ${JSON.stringify(g)}`);
  if (!contained) return;
  t.equal(g.secure, setting.expect !== 'rlimits', 'secure exactly when boxed');
  await sb.warm();
  const baseline = info.workerPids.map((p) => descendantsOf(p).length);

  for (const c of CASES) {
    const r = await sb.run({ code: c.code, timeoutMs: c.timeoutMs, memoryMb: c.memoryMb });
    t.ok(c.check(r), c.name, { result: r });
  }
  t.notOk(existsSync(SYSTEM_PATH), 'nothing was written to /etc');
  const open = await sb.run({ code: `open(${JSON.stringify(join(openDir, 'x'))}, "w").write("x")` });
  if (setting.expect === 'rlimits') {
    t.equal(open.status, 'ok', 'without a box a world-writable directory of the machine is writable (why rlimits is never secure)');
  } else {
    t.ok(open.status === 'error' && lastLine(open.stderr).startsWith('OSError: [Errno 30] Read-only file system'), 'the root is read-only, world-writable directories included', { result: open });
    t.notOk(existsSync(join(openDir, 'x')), 'nothing reached the machine');
  }

  // Files left in the world-writable directories do not reach the next request (one
  // request per worker, concurrently, so each worker is checked). Each request leaves
  // its own names: in rlimits mode the directories are the machine's, shared by the
  // workers (different uids), so equal names would collide between them.
  const pathsOf = (i: number) =>
    ['/tmp', '/var/tmp', '/dev/shm'].flatMap((d) => [`${d}/torl-left-${process.pid}-${i}`, `${d}/torl-left-${process.pid}-${i}.txt`]);
  const paths = Array.from({ length: workers }, (_, i) => pathsOf(i)).flat();
  const leave = (i: number) =>
    `import os\nfor p in ${JSON.stringify(pathsOf(i))}:\n    os.makedirs(p + "/sub") if not p.endswith(".txt") else open(p, "w").write("x")\nprint("left")`;
  // Beside its own scratch directory (the worker's scratch root): writable only where the
  // snippet shares the worker's uid (a user namespace), and cleared all the same.
  const beside = 'import os\np = os.path.join(os.path.dirname(os.getcwd()), "torl-left-beside")\ntry:\n    open(p, "w").write("x")\nexcept OSError:\n    pass';
  const look = `import os\nprint([p for p in ${JSON.stringify(paths)} + [os.path.join(os.path.dirname(os.getcwd()), "torl-left-beside")] if os.path.exists(p)])`;
  const left = await Promise.all(Array.from({ length: workers }, (_, i) => sb.run({ code: leave(i) + '\n' + beside })));
  t.same(left.map(out), Array(workers).fill(['ok', 'left\n']), 'snippets may write to /tmp, /var/tmp, /dev/shm');
  if (setting.expect !== 'rlimits') {
    t.ok(paths.every((p) => !existsSync(p)), "the machine's own directories never see it");
    const seen = await Promise.all(Array.from({ length: workers }, () => sb.run({ code: look })));
    t.same(seen.map(out), Array(workers).fill(['ok', '[]\n']), 'and the next request finds none of it');
  }

  // Nothing the requests started outlives them: each worker's box holds what it held
  // when it was first warm (worker, zygote, the prepared spare).
  const settled = () => info.workerPids.every((p, i) => descendantsOf(p).length <= baseline[i]!);
  t.ok(await eventually(settled), 'no leftover processes', { baseline, now: info.workerPids.map((p) => descendantsOf(p).length) });
  if (asRoot) t.ok(processesOf(uids).length <= workers, 'only the spares run as the snippet uids', { left: processesOf(uids) });

  const after = await Promise.all([sb.run({ code: 'print(6 * 7)' }), sb.run({ code: 'print(6 * 8)' })]);
  t.same(after.map((r) => [r.status, r.stdout]), [['ok', '42\n'], ['ok', '48\n']], 'the pool still serves');
  const pids = (await sb.info()).workerPids;
  // No case may take a worker down (a worker that died, even after answering, would be
  // replaced and hide what it left): the pool still runs the processes it started.
  t.same(pids, info.workerPids, 'every worker survived every case');
  const inside = pids.flatMap(descendantsOf);
  await sb.close();
  t.ok(await eventually(() => [...pids, ...inside].every((p) => !alive(p))), 'close() leaves no process of the boxes');
  if (asRoot) t.same(processesOf(uids), [], 'close() leaves no process of the snippet uids');
  if (setting.expect === 'rlimits') t.ok(paths.every((p) => !existsSync(p)), "close() removes what the snippets left in the machine's /tmp");
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2]) {
  const setting = JSON.parse(process.argv[2]!) as Setting;
  t.test(`hostile code, ${JSON.stringify(setting)}`, (t) => hostileSuite(t, setting));
}
