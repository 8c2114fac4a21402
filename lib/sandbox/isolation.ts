// Decides how the Python workers are boxed in, and builds the command line that starts one.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `namespaces`: each worker boxes itself in (PID, mount, network, IPC, UTS namespaces,
 *  a user namespace when not root, read-only root: lib/sandbox/torl_worker/box.py), with
 *  no system package. `bwrap`: the same box built by bubblewrap. `rlimits`: a plain
 *  process with rlimits, uid drop (when root) and seccomp, no namespaces: insecure, run
 *  only with `allowInsecure`. `auto`: namespaces, else bwrap; where neither works, an
 *  error (or rlimits with a warning under `allowInsecure`). */
export type IsolationRequest = 'auto' | 'namespaces' | 'bwrap' | 'rlimits';
export type IsolationMode = 'namespaces' | 'bwrap' | 'rlimits';

/** What the isolation in force guarantees for every snippet. */
export interface Guarantees {
  /** Own PID namespace: the snippet sees and can signal only its worker's processes. */
  pidNamespace: boolean;
  /** Own network namespace (loopback only): no route to any other host. */
  networkNamespace: boolean;
  /** Sockets other than AF_UNIX fail (seccomp); set where there is no network namespace. */
  socketsBlocked: boolean;
  /** Own IPC and UTS namespaces. */
  ipcUtsNamespaces: boolean;
  /** The filesystem is read-only except the scratch dir; /tmp, /root, /home, /run are private tmpfs. */
  readOnlyRoot: boolean;
  /** The snippet runs as an unprivileged uid of its own (one per worker, owning nothing else). */
  uidDrop: boolean;
  /** The seccomp filter is installed: no ptrace, no new namespaces, no mount, no bpf, no io_uring… */
  seccomp: boolean;
  /** RLIMIT_NPROC applies to the snippet alone (its own uid, or its own user namespace),
   *  so fork bombs stop at maxProcesses. */
  processLimit: boolean;
  /** Hostile code cannot signal, read or write anything outside its box. */
  secure: boolean;
}

/** What the probe learns about the Python interpreter. */
export interface PythonProbe {
  executable: string;
  version: string;
  /** Directories the interpreter reads: prefixes and sys.path entries that exist. */
  paths: string[];
}

const PROBE = `import json, os, sys
paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))] + sys.path
print(json.dumps({"executable": os.path.realpath(sys.executable), "version": sys.version.split()[0],
  "paths": sorted({os.path.realpath(p) for p in paths if p and os.path.isdir(p)})}))`;

/** Runs `python` once to learn its real executable, version and library paths. */
export async function probePython(python: string): Promise<PythonProbe> {
  let out: string;
  try {
    out = (await run(python, ['-c', PROBE], { timeout: 60_000 })).stdout;
  } catch (e) {
    throw new Error(`PythonSandbox: cannot run the interpreter ${JSON.stringify(python)}: ${(e as Error).message}`);
  }
  return JSON.parse(out) as PythonProbe;
}

/** Directories a box (ours or bwrap's) covers with a private tmpfs. */
const HIDDEN = ['/tmp', '/var/tmp', '/root', '/home', '/run'];
/** Writable by everyone (sticky), as on a normal system: in a box its own, emptied after
 *  each request (`privateDirs` in the worker config); without one the machine's, whose
 *  snippet-owned files are removed when the worker ends (`sharedDirs`). */
export const WORLD_WRITABLE = ['/tmp', '/var/tmp', '/dev/shm'];
const WORKER_CAPS = ['CAP_SETUID', 'CAP_SETGID', 'CAP_KILL', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER'];

/** The paths of `needed` inside the hidden directories, which the box binds back
 *  read-only (outermost first, none inside another), and the directories on the way to
 *  them that the box creates (mode 0755, so the snippet's uid can reach the interpreter). */
function hiddenBinds(needed: string[]): { binds: string[]; made: string[] } {
  const inside = needed
    .map((p) => resolve(p))
    .filter((p) => HIDDEN.some((h) => p.startsWith(h + sep))) // a hidden root itself stays hidden
    .sort((a, b) => a.length - b.length);
  const binds: string[] = [];
  for (const p of inside) if (!binds.some((k) => p === k || p.startsWith(k + sep))) binds.push(p);
  const made = new Set<string>();
  for (const p of binds) {
    const hidden = HIDDEN.find((h) => p.startsWith(h + sep))!;
    for (let d = dirname(p); d.length > hidden.length; d = dirname(d)) made.add(d);
  }
  return { binds, made: [...made].sort((a, b) => a.length - b.length) };
}

/** The bwrap arguments (before `--`) that box a worker: new PID/net/IPC/UTS namespaces,
 *  read-only root, tmpfs over the private directories (the interpreter's and the
 *  worker's own directories bound back read-only), only the capabilities the worker
 *  needs to drop to the snippet's uid, and exactly `env` as environment. */
export function bwrapArgs(needed: string[], env: Record<string, string>, asRoot: boolean): string[] {
  const args = ['--unshare-pid', '--unshare-net', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
  if (!asRoot) args.push('--unshare-user');
  args.push('--die-with-parent', '--new-session', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc');
  for (const d of HIDDEN) args.push(...(WORLD_WRITABLE.includes(d) ? ['--perms', '1777'] : []), '--tmpfs', d);
  args.push('--perms', '1777', '--tmpfs', '/dev/shm');
  const { binds, made } = hiddenBinds(needed);
  for (const d of made) args.push('--perms', '0755', '--dir', d);
  for (const p of binds) args.push('--ro-bind', p, p);
  args.push('--cap-drop', 'ALL');
  if (asRoot) for (const cap of WORKER_CAPS) args.push('--cap-add', cap);
  args.push('--chdir', '/', '--clearenv');
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  return args;
}

/** The entries of `dirs` on the way to a path of `needed` (the worker package installed
 *  under /tmp, say): a box binds those paths back, so its clean-up must leave them. */
export function keptEntries(needed: string[], dirs: string[]): string[] {
  const kept = new Set<string>();
  for (const p of needed.map((n) => resolve(n))) {
    const d = dirs.find((w) => p.startsWith(w + sep));
    if (d) kept.add(join(d, p.slice(d.length + 1).split(sep)[0]!));
  }
  return [...kept];
}

/** What the worker's own box (torl_worker/box.py) is told to build: the same tree as
 *  bwrapArgs, with a user namespace when not root. */
export interface BoxSpec {
  user: boolean;
  hidden: string[];
  worldWritable: string[];
  binds: string[];
  /** The directories on the way to `binds` (as bwrapArgs' `--dir`s). */
  dirs: string[];
}

export function boxSpec(needed: string[], asRoot: boolean): BoxSpec {
  const { binds, made } = hiddenBinds(needed);
  return { user: !asRoot, hidden: HIDDEN, worldWritable: WORLD_WRITABLE, binds, dirs: made };
}

/** Whether the worker's own box can start this interpreter here; the reason when not. */
export async function namespacesWork(probe: PythonProbe, workerPackage: string, spec: BoxSpec): Promise<string | null> {
  const code = `import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom torl_worker import box\nbox.enter(json.loads(sys.argv[2]))\nprint(6*7)`;
  try {
    const { stdout } = await run(probe.executable, ['-I', '-c', code, dirname(workerPackage), JSON.stringify(spec)], { timeout: 30_000, env: {} });
    return stdout.trim() === '42' ? null : `unexpected output ${JSON.stringify(stdout)}`;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    const last = (err.stderr ?? '').trim().split('\n').pop();
    return last || err.message.split('\n').slice(0, 3).join(' ');
  }
}

/** Whether bwrap can start this interpreter here; the reason when it cannot. */
export async function bwrapWorks(bwrap: string, probe: PythonProbe, asRoot: boolean): Promise<string | null> {
  try {
    const args = [...bwrapArgs(probe.paths, {}, asRoot), '--', probe.executable, '-c', 'print(6*7)'];
    const { stdout } = await run(bwrap, args, { timeout: 30_000, env: {} });
    return stdout.trim() === '42' ? null : `unexpected output ${JSON.stringify(stdout)}`;
  } catch (e) {
    return (e as Error).message.split('\n').slice(0, 3).join(' ');
  }
}

/** The first directory on the way to `path` that other users cannot traverse, if any:
 *  the snippet's unprivileged uid could not load the interpreter's modules from there. */
export function closedAncestor(path: string): string | null {
  for (let d = resolve(path); ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return d;
    } catch {
      return d;
    }
    if (d === dirname(d)) return null;
  }
}

/** Whether RLIMIT_NPROC bounds the snippet alone: with its own uid (root drops to one),
 *  or in a user namespace of its own, where the kernel counts that namespace's processes. */
export function processLimited(mode: IsolationMode, asRoot: boolean): boolean {
  return asRoot || mode !== 'rlimits';
}

/** What `mode` guarantees given what the worker found (seccomp) and whether we are root. */
export function guarantees(mode: IsolationMode, asRoot: boolean, seccomp: boolean): Guarantees {
  const ns = mode !== 'rlimits';
  const processLimit = processLimited(mode, asRoot);
  return {
    pidNamespace: ns,
    networkNamespace: ns,
    socketsBlocked: !ns && seccomp,
    ipcUtsNamespaces: ns,
    readOnlyRoot: ns,
    uidDrop: asRoot,
    seccomp,
    processLimit,
    // Without namespaces the snippet's uid sees and may write the machine's world-writable
    // directories and reads whatever other users may: never secure. In a box without a
    // uid drop (not root) the snippet shares the worker's uid, but the worker is PID 1
    // of the box (signals from inside cannot kill it) and not dumpable, and the seccomp
    // filter denies ptrace.
    secure: ns && seccomp && processLimit,
  };
}
