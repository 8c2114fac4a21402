// The seccomp filter (lib/sandbox/torl_worker/syscall_filter.py), syscall by syscall:
// its syscall numbers against the kernel headers, each denied call failing with EPERM
// under the filter where, unfiltered, the same call fails otherwise (or works), the
// namespace clone flags, clone3, the socket families; and in the sandbox, what a snippet
// needs (threads, subprocess, numpy/sympy where installed) working.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { PythonSandbox } from '../../lib/sandbox/index.js';
import { canImport, randomUidBase } from './procs.js';

const pkgParent = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'sandbox');
const python = (code: string, ...args: string[]) =>
  execFileSync('python3', ['-c', `import sys\nsys.path.insert(0, ${JSON.stringify(pkgParent)})\n${code}`, ...args], { encoding: 'utf8' });

const tables = JSON.parse(python('import json\nfrom torl_worker import syscall_filter as f\nprint(json.dumps({a: t[1] for a, t in f.ARCHES.items()}))')) as Record<string, Record<string, number>>;

/** `#define __NR_<name> <n>` (or __NR3264_) in a header, by name. */
function headerNumbers(path: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const [, name, n] of readFileSync(path, 'utf8').matchAll(/^#define __NR(?:3264)?_(\w+)\s+(\d+)\s*$/gm)) m.set(name!, Number(n));
  return m;
}

const HEADERS: Record<string, string[]> = {
  x86_64: ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'],
  aarch64: ['/usr/include/asm-generic/unistd.h'],
};

t.test('syscall numbers match the kernel headers', async (t) => {
  for (const [arch, table] of Object.entries(tables)) {
    const header = HEADERS[arch]!.find(existsSync);
    t.ok(header, `a kernel header with ${arch}'s numbers (linux-libc-dev, which g++ pulls in)`);
    if (!header) continue;
    const nr = headerNumbers(header);
    // The generic table names a few calls by their 32/64-bit-neutral alias: none of ours.
    for (const [name, n] of Object.entries(table)) t.equal(nr.get(name), n, `${arch} ${name}`);
  }
});

// Runs each call twice in a fresh child: unfiltered, then under the filter. Every
// argument is -1: no call can succeed or do anything with that (bad pointers, fds,
// flags, magic numbers), so unfiltered each fails with its own errno (EFAULT, EBADF,
// EINVAL…), which tells the filter's EPERM apart. vhangup takes no argument and would
// hang up a controlling terminal: it runs filtered only.
const PROBE = `
import ctypes, errno, json, os, socket, sys
from torl_worker import syscall_filter as f
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
block = sys.argv[1] == '1'
nr = f.arch()[1]
M1 = [ctypes.c_long(-1)] * 6
def call(n, args):
    r = libc.syscall(ctypes.c_long(n), *args)
    return 0 if r >= 0 else ctypes.get_errno()
def clone(flags):
    # clone(flags, stack=0): with a namespace flag the kernel would need privileges we
    # drop below; without, a child that exits at once
    r = libc.syscall(ctypes.c_long(nr['clone']), ctypes.c_long(flags | 17), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
    if r == 0:
        os._exit(0)
    if r > 0:
        os.waitpid(r, 0)
        return 0
    return ctypes.get_errno()
def sock(family):
    try:
        socket.socket(family, socket.SOCK_DGRAM if family != socket.AF_PACKET else socket.SOCK_RAW).close()
        return 0
    except OSError as e:
        return e.errno
def run(filtered):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        if filtered:
            libc.prctl(38, 1, 0, 0, 0)
            prog, buf = f.compile_filter(block)
            f.install_filter(prog, libc)
        out = {name: call(nr[name], M1) for name in f.DENIED_SYSCALLS if name in nr and (filtered or name != 'vhangup')}
        out['clone3'] = call(nr['clone3'], M1)
        out['clone_ns'] = {hex(1 << i): clone(1 << i) for i in range(32) if (1 << i) & f.CLONE_NS_FLAGS}
        out['clone_plain'] = clone(0)
        out['sockets'] = {name: sock(getattr(socket, name)) for name in ('AF_UNIX', 'AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET')}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    data = b''
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        data += b
    os.waitpid(pid, 0)
    return json.loads(data)
print(json.dumps({'denied': f.DENIED_SYSCALLS, 'unfiltered': run(False), 'filtered': run(True)}))
`;

interface Probe {
  denied: string[];
  unfiltered: Record<string, number> & { clone_ns: Record<string, number>; clone_plain: number; sockets: Record<string, number>; clone3: number };
  filtered: Probe['unfiltered'];
}
const EPERM = 1;
const EACCES = 13;
const ENOSYS = 38;

for (const block of [true, false]) {
  t.test(`denied syscalls fail with EPERM under the filter (network ${block ? 'blocked' : 'open'})`, async (t) => {
    const p = JSON.parse(python(PROBE, block ? '1' : '0')) as Probe;
    const told: string[] = [];
    for (const name of p.denied) {
      if (!(name in p.filtered)) continue; // not a syscall on this architecture
      t.equal(p.filtered[name], EPERM, `${name} denied`);
      if (name in p.unfiltered && p.unfiltered[name] !== EPERM) told.push(name);
    }
    // As root every unfiltered call but the few that check privileges before arguments
    // fails differently, so the EPERM above is the filter's own.
    if (process.getuid?.() === 0) t.ok(told.length >= p.denied.length - 8, `unfiltered errnos differ for ${told.length} of ${p.denied.length}`, { unfiltered: p.unfiltered });
    t.equal(p.filtered.clone3, ENOSYS, 'clone3: ENOSYS (libc falls back to clone)');
    t.not(p.unfiltered.clone3, ENOSYS, 'clone3 exists unfiltered');
    for (const [flag, e] of Object.entries(p.filtered.clone_ns)) t.equal(e, EPERM, `clone with namespace flag ${flag} denied`);
    t.equal(p.filtered.clone_plain, 0, 'a plain clone (fork) works');
    t.equal(p.filtered.sockets.AF_UNIX, 0, 'AF_UNIX sockets work');
    for (const fam of ['AF_INET', 'AF_INET6', 'AF_NETLINK']) {
      if (block) t.equal(p.filtered.sockets[fam], EACCES, `${fam} sockets denied`);
      else t.equal(p.filtered.sockets[fam], p.unfiltered.sockets[fam], `${fam} sockets as unfiltered`);
    }
  });
}

t.test('under the filter a snippet has threads, subprocess, and the scientific modules', async (t) => {
  const sb = new PythonSandbox({ workers: 1, preload: ['math'], uidBase: randomUidBase() });
  t.teardown(() => sb.close());
  t.ok((await sb.info()).guarantees.seccomp, 'the filter is installed');
  const threads = await sb.run({ code: 'import threading, concurrent.futures as cf\nwith cf.ThreadPoolExecutor(4) as ex:\n    print(sum(ex.map(lambda i: i * i, range(100))))' });
  t.same([threads.status, threads.stdout], ['ok', '328350\n'], 'threads (clone without namespace flags)');
  const sub = await sb.run({ code: 'import subprocess, sys\nprint(subprocess.run([sys.executable, "-c", "print(6*7)"], capture_output=True, text=True).stdout.strip())' });
  t.same([sub.status, sub.stdout], ['ok', '42\n'], 'subprocess');
  const mp = await sb.run({ code: 'import multiprocessing as mp\nif __name__ == "__main__":\n    with mp.get_context("fork").Pool(2) as p:\n        print(p.map(abs, [-1, -2]))' });
  t.same([mp.status, mp.stdout], ['ok', '[1, 2]\n'], 'multiprocessing (fork, AF_UNIX pipes)');
  for (const [mod, code, want] of [
    ['numpy', 'import numpy as np\nprint(int(np.linalg.solve(np.eye(3) * 2, np.ones(3) * 4).sum()))', '6\n'],
    ['sympy', 'import sympy as s\nx = s.Symbol("x")\nprint(s.factor(x**2 - 1))', '(x - 1)*(x + 1)\n'],
  ] as const) {
    if (!canImport(mod)) {
      t.pass(`${mod}: skipped, python3 here cannot import it`, { skip: true });
      continue;
    }
    const r = await sb.run({ code, timeoutMs: 60_000 });
    t.same([r.status, r.stdout], ['ok', want], mod, { stderr: r.stderr });
  }
});
