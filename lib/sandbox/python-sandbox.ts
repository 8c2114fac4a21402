// The local sandbox: a pool of warm Python workers, a queue, and restarts.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  boxSpec,
  bwrapArgs,
  bwrapWorks,
  closedAncestor,
  guarantees,
  keptEntries,
  namespacesWork,
  probePython,
  processLimited,
  type Guarantees,
  type IsolationMode,
  type IsolationRequest,
  type PythonProbe,
  WORLD_WRITABLE,
} from './isolation.js';
import { checkPositive, failure, resolveRequest, type ResolvedRequest } from './request.js';
import type { CodeRunner, RunRequest, RunResult } from './types.js';
import { WorkerProcess, type WorkerHello, type WorkerLaunch } from './worker-process.js';

/** The worker, a Python package run as `python <its directory> <JSON config>`, found from
 *  lib/sandbox (sources) and from dist/sandbox (compiled): both sit two levels below the
 *  package root, and the package ships lib/. */
export const WORKER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'sandbox', 'torl_worker');

export interface PythonSandboxOptions {
  /** Worker processes (parallel runs). Default: the number of cores. */
  workers?: number;
  /** The Python interpreter. Default `python3`. */
  python?: string;
  /** Modules each worker imports (and warms up) once. Default: math, fractions,
   *  itertools, and sympy/numpy when installed. Named explicitly, each must import. */
  preload?: string[];
  /** Default wall-clock limit per run, ms. Default 10000. */
  timeoutMs?: number;
  /** Default memory per run, MiB on top of the preloaded interpreter. Default 1024. */
  memoryMb?: number;
  /** Bytes kept of stdout and of stderr each. Default 65536. */
  maxOutputBytes?: number;
  /** Largest file a snippet may write (RLIMIT_FSIZE), bytes. Default 64 MiB. */
  maxFileBytes?: number;
  /** Processes a snippet may have (RLIMIT_NPROC, with the uid drop). Default 32. */
  maxProcesses?: number;
  /** Requests that may wait for a worker; past it `run` rejects. Default 10000. */
  maxQueue?: number;
  /** Default 'auto'. See IsolationRequest. */
  isolation?: IsolationRequest;
  /** Run snippets even where nothing can box them in (isolation 'rlimits', chosen or
   *  fallen back to): no namespaces, no read-only root. Default false: such a sandbox
   *  refuses to start. */
  allowInsecure?: boolean;
  /** Extra environment variables for the snippets (nothing else of ours is passed). */
  env?: Record<string, string>;
  /** First uid of the unprivileged uids the snippets run as when we are root (worker i
   *  gets uidBase + i); each must own no process. Default: a random block above 10^9. */
  uidBase?: number;
  /** The bubblewrap executable. Default `bwrap`. */
  bwrap?: string;
}

/** The sandbox as started: what is enforced, and with what. */
export interface SandboxInfo {
  isolation: IsolationMode;
  guarantees: Guarantees;
  /** Anything the start-up had to give up on (fallback from bwrap, no seccomp…). */
  warnings: string[];
  python: { executable: string; version: string };
  /** numpy / sympy / scipy: installed version, or null. */
  modules: Record<string, string | null>;
  preloaded: string[];
  workers: number;
  /** Host pids of the processes the pool started (the box's monitor in namespaces mode,
   *  bwrap's pid in bwrap mode). */
  workerPids: number[];
}

interface Queued {
  req: ResolvedRequest;
  resolve: (r: RunResult) => void;
}

interface Slot {
  index: number;
  worker: WorkerProcess | null;
  failures: number;
}

const DEFAULT_PRELOAD = ['math', 'fractions', 'itertools', 'sympy', 'numpy'];
const ISOLATIONS: IsolationRequest[] = ['auto', 'namespaces', 'bwrap', 'rlimits'];
const OPTIONAL_PRELOAD = new Set(['sympy', 'numpy']);
const MAX_START_FAILURES = 3;
/** Extra time past a run's own timeout before the worker is presumed hung. */
const DEADLINE_GRACE_MS = 15_000;

/**
 * A pool of warm Python workers; each request runs in a fresh forked child with
 * limits (see SandboxInfo.guarantees for what the isolation in force blocks).
 *
 * ```ts
 * const sb = new PythonSandbox({ workers: 4 });
 * const r = await sb.run({ code: 'import sympy as s; print(s.factor(x**2-1))' });
 * await sb.close();
 * ```
 */
export class PythonSandbox implements CodeRunner {
  private readonly opts: Required<Omit<PythonSandboxOptions, 'uidBase'>> & { uidBase: number };
  private readonly explicitPreload: boolean;
  private readonly slots: Slot[] = [];
  private readonly queue: Queued[] = [];
  private started: Promise<SandboxInfo> | null = null;
  private launchFor: ((i: number) => WorkerLaunch) | null = null;
  private sweepUid: ((i: number) => Promise<void>) | null = null;
  private scratchDir: string | null = null;
  private broken: Error | null = null;
  private closed = false;
  private nextId = 1;
  private warmWaiters: (() => void)[] = [];

  constructor(options: PythonSandboxOptions = {}) {
    const o = options;
    this.explicitPreload = o.preload !== undefined;
    this.opts = {
      workers: o.workers ?? availableParallelism(),
      python: o.python ?? 'python3',
      preload: o.preload ?? DEFAULT_PRELOAD,
      timeoutMs: o.timeoutMs ?? 10_000,
      memoryMb: o.memoryMb ?? 1024,
      maxOutputBytes: o.maxOutputBytes ?? 65536,
      maxFileBytes: o.maxFileBytes ?? 64 << 20,
      maxProcesses: o.maxProcesses ?? 32,
      maxQueue: o.maxQueue ?? 10_000,
      isolation: o.isolation ?? 'auto',
      allowInsecure: o.allowInsecure ?? false,
      env: o.env ?? {},
      uidBase: o.uidBase ?? 1_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1024,
      bwrap: o.bwrap ?? 'bwrap',
    };
    const p = this.opts;
    if (!Number.isInteger(p.workers) || p.workers < 1 || p.workers > 1024) {
      throw new RangeError(`PythonSandbox: "workers" must be an integer in [1, 1024], got ${String(p.workers)}`);
    }
    checkPositive('timeoutMs', p.timeoutMs, 3_600_000);
    checkPositive('memoryMb', p.memoryMb, 1 << 20);
    for (const k of ['maxOutputBytes', 'maxFileBytes', 'maxProcesses', 'maxQueue'] as const) {
      if (!Number.isInteger(p[k]) || p[k] < 1) throw new RangeError(`PythonSandbox: "${k}" must be a positive integer, got ${String(p[k])}`);
    }
    if (!ISOLATIONS.includes(p.isolation)) {
      throw new RangeError(`PythonSandbox: "isolation" must be ${ISOLATIONS.map((m) => `'${m}'`).join(', ')}, got ${String(p.isolation)}`);
    }
    if (typeof p.allowInsecure !== 'boolean') {
      throw new TypeError(`PythonSandbox: "allowInsecure" must be true or false, got ${JSON.stringify(p.allowInsecure)}`);
    }
    if (!Array.isArray(p.preload) || p.preload.some((m) => typeof m !== 'string' || !/^[A-Za-z_][\w.]*$/.test(m))) {
      throw new TypeError('PythonSandbox: "preload" must be a list of module names');
    }
    if (!Number.isInteger(p.uidBase) || p.uidBase < 1000 || p.uidBase + p.workers > 0xfffffffe) {
      throw new RangeError(`PythonSandbox: "uidBase" must be an integer uid ≥ 1000, got ${String(p.uidBase)}`);
    }
  }

  /** What is in force: isolation mode and guarantees, python, modules, workers (with
   *  their current pids). Starts the pool if needed. */
  async info(): Promise<SandboxInfo> {
    const info = await this.start();
    return { ...info, workerPids: this.slots.map((s) => s.worker?.pid ?? -1) };
  }

  /** Runs one snippet. Rejects only on bad input, a full queue, a closed sandbox, or a
   *  pool that cannot start; everything the snippet does ends up in the result's status. */
  async run(request: RunRequest): Promise<RunResult> {
    const req = resolveRequest(request, this.opts);
    if (this.closed) throw new Error('PythonSandbox: run() after close()');
    if (this.queue.length >= this.opts.maxQueue) {
      throw new Error(`PythonSandbox: queue full (${this.queue.length} waiting, maxQueue ${this.opts.maxQueue})`);
    }
    await this.start();
    if (this.broken) throw this.broken;
    return new Promise((resolve) => {
      this.queue.push({ req, resolve });
      this.dispatch();
    });
  }

  /** Resolves once every worker is idle with its next child forked and prepared, so a
   *  request sent now meets no start-up work (for pre-warming, and for measuring latency
   *  apart from queueing). Starts the pool if needed. */
  async warm(): Promise<void> {
    await this.start();
    if (this.allWarm()) return;
    await new Promise<void>((resolve) => this.warmWaiters.push(resolve));
  }

  private allWarm(): boolean {
    return this.closed || this.broken !== null || this.slots.every((s) => s.worker !== null && s.worker.warm && !s.worker.busy);
  }

  /** Lets runs in flight finish, fails the queued ones, stops every worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.started?.catch(() => {});
    for (const q of this.queue.splice(0)) q.resolve(failure(this.nextId++, 'PythonSandbox closed before this request ran'));
    for (const w of this.warmWaiters.splice(0)) w();
    await Promise.all(this.slots.map((s) => s.worker?.end()));
    if (this.sweepUid) await Promise.all(this.slots.map((s) => this.sweepUid!(s.index)));
    if (this.scratchDir) rmSync(this.scratchDir, { recursive: true, force: true });
  }

  private start(): Promise<SandboxInfo> {
    this.started ??= this.boot().catch((e: Error) => {
      this.broken = e;
      throw e;
    });
    return this.started;
  }

  private async boot(): Promise<SandboxInfo> {
    const o = this.opts;
    const asRoot = process.getuid?.() === 0;
    const warnings: string[] = [];
    const probe = await probePython(o.python);
    const mode = await this.chooseMode(probe, asRoot, warnings);
    if (mode === 'rlimits' && asRoot) {
      const closed = [probe.executable, ...probe.paths].map(closedAncestor).find((d) => d !== null);
      if (closed) {
        throw new Error(`PythonSandbox: isolation 'rlimits' runs snippets as an unprivileged uid, which cannot read the interpreter (${closed} is not searchable by other users); use isolation 'namespaces' or a Python installed outside private directories`);
      }
    }
    const env = {
      PATH: `${dirname(probe.executable)}:/usr/local/bin:/usr/bin:/bin`,
      LANG: 'C.UTF-8',
      OPENBLAS_NUM_THREADS: '1',
      OMP_NUM_THREADS: '1',
      MKL_NUM_THREADS: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      ...o.env,
    };
    if (mode === 'rlimits') {
      this.scratchDir = mkdtempSync(join(tmpdir(), 'torl-sandbox-'));
      chmodSync(this.scratchDir, 0o711);
    }
    this.launchFor = (i) => this.launch(i, mode, probe, env, asRoot);
    if (mode === 'rlimits' && asRoot) this.sweepUid = (i) => killAllOfUid(o.uidBase + i);
    for (let i = 0; i < o.workers; i++) this.slots.push({ index: i, worker: null, failures: 0 });
    const hellos = await Promise.all(this.slots.map((s) => this.spawn(s)));
    const hello = hellos[0]!;
    const missing = Object.entries(hello.failed).filter(([m]) => this.explicitPreload || !OPTIONAL_PRELOAD.has(m));
    if (missing.length) {
      await Promise.all(this.slots.map((s) => s.worker?.end()));
      throw new Error(`PythonSandbox: preload failed: ${missing.map(([m, e]) => `${m} (${e})`).join(', ')}`);
    }
    if (!hello.seccomp) warnings.push(`no seccomp filter: ${hello.seccompError ?? 'unavailable'}`);
    const g = guarantees(mode, asRoot, hello.seccomp);
    if (!g.secure && !o.allowInsecure) {
      await Promise.all(this.slots.map((s) => s.worker?.end()));
      throw new Error(`PythonSandbox: isolation '${mode}' is not secure here (${warnings.join('; ') || JSON.stringify(g)}); pass allowInsecure: true to run snippets anyway`);
    }
    for (const w of warnings) console.warn(`[torl sandbox] ${w}`);
    return {
      isolation: mode,
      guarantees: g,
      warnings,
      python: { executable: probe.executable, version: hello.python },
      modules: hello.modules,
      preloaded: hello.preloaded,
      workers: o.workers,
      workerPids: this.slots.map((s) => s.worker?.pid ?? -1),
    };
  }

  /** The isolation to use: the one asked for, or for 'auto' the first that works of
   *  namespaces and bwrap; rlimits only as asked, or as the fallback under allowInsecure. */
  private async chooseMode(probe: PythonProbe, asRoot: boolean, warnings: string[]): Promise<IsolationMode> {
    const o = this.opts;
    if (o.isolation === 'rlimits') {
      if (!o.allowInsecure) {
        throw new Error("PythonSandbox: isolation 'rlimits' boxes nothing in (no namespaces, no read-only root); pass allowInsecure: true to use it, or use isolation 'auto'");
      }
      return 'rlimits';
    }
    const tries: IsolationMode[] = o.isolation === 'auto' ? ['namespaces', 'bwrap'] : [o.isolation];
    const failed: string[] = [];
    for (const mode of tries) {
      const why = mode === 'namespaces' ? await namespacesWork(probe, WORKER_DIR, boxSpec(this.needed(probe), asRoot)) : await bwrapWorks(o.bwrap, probe, asRoot);
      if (why === null) {
        if (failed.length) warnings.push(`${failed.join('; ')}; using ${mode}`);
        return mode;
      }
      failed.push(`${mode} fails here (${why})`);
    }
    if (o.isolation !== 'auto') throw new Error(`PythonSandbox: isolation '${o.isolation}' requested but ${failed[0]}`);
    if (!o.allowInsecure) {
      throw new Error(`PythonSandbox: no isolation works here: ${failed.join('; ')}. Unprivileged user namespaces (or root) let torl box the workers in with no system package; pass allowInsecure: true to run snippets with rlimits only (no namespaces, no read-only root)`);
    }
    warnings.push(`${failed.join('; ')}; falling back to rlimits${asRoot ? ' + uid drop' : ' only'} (INSECURE: no namespaces, no read-only root)`);
    return 'rlimits';
  }

  /** What the worker needs to read from directories the box hides: the interpreter's
   *  and the worker package's own. */
  private needed(probe: PythonProbe): string[] {
    return [...probe.paths, WORKER_DIR];
  }

  private launch(i: number, mode: IsolationMode, probe: PythonProbe, env: Record<string, string>, asRoot: boolean): WorkerLaunch {
    const o = this.opts;
    const boxed = mode !== 'rlimits';
    const scratchRoot = boxed ? '/tmp/torl-sandbox' : join(this.scratchDir!, `w${i}`);
    const cfg = {
      uid: asRoot ? o.uidBase + i : null,
      preload: o.preload,
      blockNetwork: !boxed,
      // namespaces mode: what the worker's box.py builds before anything else.
      box: mode === 'namespaces' ? boxSpec(this.needed(probe), asRoot) : null,
      // Without a uid drop the snippet's own user namespace bounds its processes.
      userNamespace: !asRoot && processLimited(mode, asRoot),
      // In a box, /tmp, /var/tmp and /dev/shm are the worker's own tmpfs, emptied after
      // each request. Without one they are the machine's: the snippet uids' files there
      // are removed when the worker ends.
      privateDirs: boxed ? WORLD_WRITABLE : [],
      // ... all but the scratch root and the way to what the box binds back there.
      keep: [scratchRoot, ...keptEntries(this.needed(probe), WORLD_WRITABLE)],
      sharedDirs: boxed ? [] : WORLD_WRITABLE,
      scratchRoot,
      maxOutputBytes: o.maxOutputBytes,
      maxFileBytes: o.maxFileBytes,
      maxProcesses: o.maxProcesses,
      env,
    };
    const python = [probe.executable, WORKER_DIR, JSON.stringify(cfg)];
    if (mode !== 'bwrap') return { command: python[0]!, args: python.slice(1), env };
    const args = [...bwrapArgs(this.needed(probe), env, asRoot), '--', ...python];
    return { command: o.bwrap, args, env: {} };
  }

  /** Starts the slot's worker and waits until it is ready. */
  private async spawn(slot: Slot): Promise<WorkerHello> {
    const w = new WorkerProcess(this.launchFor!(slot.index), (dead) => this.onExit(slot, dead), () => this.dispatch());
    slot.worker = w;
    const hello = await w.ready;
    slot.failures = 0;
    return hello;
  }

  /** A worker is gone: unless closing, clear what it left, start another. */
  private onExit(slot: Slot, dead: WorkerProcess): void {
    if (slot.worker !== dead) return;
    slot.worker = null;
    if (this.closed || this.broken || !this.started) return;
    // Not a deadline kill nor a shutdown: a bug of the worker, or something outside that
    // killed it. The pool carries on with another; this says why it had to.
    if (dead.unasked !== null && slot.failures === 0) console.warn(`[torl sandbox] worker ${slot.index} (pid ${dead.pid}) ended unasked (${dead.unasked}); starting another`);
    slot.failures++;
    void (async () => {
      try {
        await this.sweepUid?.(slot.index);
        if (slot.failures > MAX_START_FAILURES) throw new Error(`PythonSandbox: worker ${slot.index} failed ${MAX_START_FAILURES} restarts in a row`);
        await this.spawn(slot);
      } catch (e) {
        if (this.closed) return;
        if (this.slots.every((s) => s.worker === null)) this.fail(e as Error);
      }
      this.dispatch();
    })();
  }

  private fail(e: Error): void {
    this.broken = e;
    for (const q of this.queue.splice(0)) q.resolve(failure(this.nextId++, e.message));
    for (const w of this.warmWaiters.splice(0)) w();
  }

  /** Gives queued requests to idle workers, warm ones first; wakes warm() waiters. */
  private dispatch(): void {
    if (this.warmWaiters.length > 0 && this.queue.length === 0 && this.allWarm()) {
      for (const w of this.warmWaiters.splice(0)) w();
    }
    while (this.queue.length > 0) {
      const idle = this.slots.map((s) => s.worker).filter((w): w is WorkerProcess => w !== null && w.alive && !w.busy);
      const worker = idle.find((w) => w.warm) ?? idle[0];
      if (!worker) return;
      const q = this.queue.shift()!;
      void worker.run(this.nextId++, q.req, q.req.timeoutMs + DEADLINE_GRACE_MS).then((r) => {
        q.resolve(r);
        this.dispatch();
      });
    }
  }
}

/** SIGKILLs every process of `uid` (kill(-1) run as that uid), which must be one of the
 *  sandbox's own unprivileged uids: used when a worker outside any PID namespace died
 *  and its children may have outlived it. */
function killAllOfUid(uid: number): Promise<void> {
  if (uid < 1000 || uid === process.getuid?.()) throw new Error(`refusing to kill all processes of uid ${uid}`);
  return new Promise((res) => {
    const p = spawn('/bin/kill', ['-s', 'KILL', '--', '-1'], { uid, gid: uid, env: {}, stdio: 'ignore' });
    p.on('error', () => res());
    p.on('close', () => res());
  });
}
