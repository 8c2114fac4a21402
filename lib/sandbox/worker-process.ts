// One Python worker process (lib/sandbox/torl_worker/) and its JSON-lines conversation.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { failure, type ResolvedRequest } from './request.js';
import type { RunResult } from './types.js';

/** How to start a worker: the full command line and its whole environment. */
export interface WorkerLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** The worker's first line: what it loaded and what it found. */
export interface WorkerHello {
  pid: number;
  python: string;
  executable: string;
  preloaded: string[];
  failed: Record<string, string>;
  modules: Record<string, string | null>;
  seccomp: boolean;
  seccompError: string | null;
}

interface Pending {
  id: number;
  resolve: (r: RunResult) => void;
  timer: NodeJS.Timeout;
  deadline: boolean;
}

const STDERR_TAIL = 4096;

/** A started worker. `ready` settles once it has preloaded its modules; `warm` is true
 *  while a prepared child is waiting for the next request. One request at a time. */
export class WorkerProcess {
  readonly ready: Promise<WorkerHello>;
  readonly exited: Promise<void>;
  warm = false;
  alive = true;
  /** Set when the worker ended without being asked to (no kill(), no end()): how it
   *  ended and the tail of its stderr, for the pool to report. */
  unasked: string | null = null;
  private asked = false;
  private readonly proc: ChildProcess;
  private pending: Pending | null = null;
  private stderrTail = '';

  /** Spawns the worker; `onExit` runs once when it is gone, `onWarm` each time it turns warm. */
  constructor(launch: WorkerLaunch, onExit: (w: WorkerProcess) => void, onWarm: (w: WorkerProcess) => void) {
    this.proc = spawn(launch.command, launch.args, { env: launch.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdin!.on('error', () => {}); // EPIPE when it died: the exit handler answers
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-STDERR_TAIL);
    });
    let hello: (h: WorkerHello) => void;
    let fail: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      hello = res;
      fail = rej;
    });
    this.ready.catch(() => {}); // observed by the pool; never an unhandled rejection
    const lines = createInterface({ input: this.proc.stdout! });
    lines.on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.stderrTail += `\n[torl] unparsable worker line: ${line.slice(0, 200)}`;
        this.kill();
        return;
      }
      if (msg.ready) hello(msg as unknown as WorkerHello);
      else if (typeof msg.fatal === 'string') fail(new Error(`PythonSandbox worker: ${msg.fatal}`));
      if (msg.ready || msg.warm) {
        // A request sent before this line arrived was read after it: that request
        // consumed the prepared child, so the worker is warm only with none in flight.
        this.warm = this.pending === null;
        onWarm(this);
      } else if (typeof msg.id === 'number' && this.pending?.id === msg.id) {
        const p = this.pending;
        this.pending = null;
        clearTimeout(p.timer);
        p.resolve(msg as unknown as RunResult);
      }
    });
    this.exited = new Promise((res) => {
      this.proc.on('error', (e) => fail(new Error(`PythonSandbox: cannot start ${launch.command}: ${e.message}`)));
      this.proc.on('close', (code, signal) => {
        this.alive = false;
        this.warm = false;
        const how = signal ? `signal ${signal}` : `exit code ${code}`;
        if (!this.asked) this.unasked = `${how}; its stderr: ${this.stderrTail.trim() || '(none)'}`;
        fail(new Error(`PythonSandbox worker exited during start (${how}): ${this.stderrTail.trim() || '(no stderr)'}`));
        if (this.pending) {
          const p = this.pending;
          this.pending = null;
          clearTimeout(p.timer);
          const why = p.deadline ? 'did not answer before its deadline and was killed' : `died (${how})`;
          p.resolve(failure(p.id, `sandbox worker ${why} while running this request`));
        }
        onExit(this);
        res();
      });
    });
  }

  /** The worker's pid as seen from here (bwrap's, in bwrap mode). */
  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get busy(): boolean {
    return this.pending !== null;
  }

  /** Sends one request; answers `crashed` if the worker dies or misses `deadlineMs`. */
  run(id: number, req: ResolvedRequest, deadlineMs: number): Promise<RunResult> {
    if (this.pending) throw new Error('WorkerProcess.run: a request is already in flight');
    this.warm = false;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.pending) this.pending.deadline = true;
        this.kill();
      }, deadlineMs);
      this.pending = { id, resolve, timer, deadline: false };
      const msg = { id, ...req, timeoutMs: Math.ceil(req.timeoutMs), memoryMb: Math.ceil(req.memoryMb) };
      this.proc.stdin!.write(JSON.stringify(msg) + '\n');
    });
  }

  kill(): void {
    this.asked = true;
    if (this.alive) this.proc.kill('SIGKILL');
  }

  /** Asks the worker to finish (stdin closed) and kills it if it has not within `graceMs`. */
  async end(graceMs = 5000): Promise<void> {
    this.asked = true;
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
