// Decides how the Python workers are boxed in, and builds the command line that starts one.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `bwrap`: each worker runs inside bubblewrap namespaces. `rlimits`: a plain process
 *  with rlimits, uid drop (when root) and seccomp (when available). `auto`: bwrap when
 *  it works on this machine, else rlimits with a warning. */
export type IsolationRequest = 'auto' | 'bwrap' | 'rlimits';
export type IsolationMode = 'bwrap' | 'rlimits';

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
  /** The filesystem is read-only except the scratch dir; /tmp, /root, /home, /run are empty tmpfs. */
  readOnlyRoot: boolean;
  /** The snippet runs as an unprivileged uid of its own (one per worker, owning nothing else). */
  uidDrop: boolean;
  /** The seccomp filter is installed: no ptrace, no new namespaces, no mount, no bpf, no io_uring… */
  seccomp: boolean;
  /** RLIMIT_NPROC applies (it does not for uid 0), so fork bombs stop at maxProcesses. */
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

/** Directories hidden by the tmpfs mounts inside bwrap. */
const HIDDEN = ['/tmp', '/var/tmp', '/root', '/home', '/run'];
/** Writable by everyone (sticky), as on a normal system; emptied of the snippet's files
 *  after each request (see `sharedDirs` in the worker config). */
export const WORLD_WRITABLE = ['/tmp', '/var/tmp', '/dev/shm'];
const WORKER_CAPS = ['CAP_SETUID', 'CAP_SETGID', 'CAP_KILL', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER'];

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
  const binds = needed
    .map((p) => resolve(p))
    .filter((p) => HIDDEN.some((h) => p.startsWith(h + sep))) // a hidden root itself stays hidden
    .sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const p of binds) if (!kept.some((k) => p === k || p.startsWith(k + sep))) kept.push(p);
  // Directories bwrap would create on the way to a bind are mode 0700: make them
  // traversable, or the snippet's uid could not reach the interpreter.
  const made = new Set<string>();
  for (const p of kept) {
    const hidden = HIDDEN.find((h) => p.startsWith(h + sep))!;
    for (let d = dirname(p); d.length > hidden.length; d = dirname(d)) made.add(d);
  }
  for (const d of [...made].sort((a, b) => a.length - b.length)) args.push('--perms', '0755', '--dir', d);
  for (const p of kept) args.push('--ro-bind', p, p);
  args.push('--cap-drop', 'ALL');
  if (asRoot) for (const cap of WORKER_CAPS) args.push('--cap-add', cap);
  args.push('--chdir', '/', '--clearenv');
  for (const [k, v] of Object.entries(env)) args.push('--setenv', k, v);
  return args;
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

/** What `mode` guarantees given what the worker found (seccomp) and whether we are root. */
export function guarantees(mode: IsolationMode, asRoot: boolean, seccomp: boolean): Guarantees {
  const ns = mode === 'bwrap';
  return {
    pidNamespace: ns,
    networkNamespace: ns,
    socketsBlocked: !ns && seccomp,
    ipcUtsNamespaces: ns,
    readOnlyRoot: ns,
    uidDrop: asRoot,
    seccomp,
    processLimit: asRoot,
    // Not root: no uid drop, so no process limit either (a fork bomb is unbounded), and
    // outside a PID namespace the snippet could signal the trainer. Root without bwrap
    // relies on seccomp to keep the network closed.
    secure: asRoot && (ns || seccomp),
  };
}
