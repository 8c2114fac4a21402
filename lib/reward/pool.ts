// A small pool of long-lived worker threads for the symbolic comparison. A comparison that
// runs past its time limit is abandoned by terminating its thread (a timer in the same
// thread could never interrupt it); the thread is then replaced. Idle threads do not keep
// the process alive.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SymbolicQuery } from './query.js';
import type { WorkerReply, WorkerRequest } from './worker.js';

export interface GraderPoolOptions {
  /** Worker threads (default 1, or 2 on machines with more than 4 cores). */
  workers?: number;
  /** How long a new thread may take to load the engine (default 60 s). */
  startupTimeoutMs?: number;
  /** V8 heap limit of each thread in MB (default 256): a runaway comparison dies, not the process. */
  heapMb?: number;
}

/** How a comparison ended; 'unavailable' when no worker could be started. */
export type SymbolicVerdict = 'equal' | 'unequal' | 'timeout' | 'unavailable';

export interface SymbolicOutcome {
  verdict: SymbolicVerdict;
  /** Time the comparison held a worker (0 when it never ran). */
  elapsedMs: number;
}

interface Job {
  query: SymbolicQuery;
  timeoutMs: number;
  resolve: (outcome: SymbolicOutcome) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: { id: number; job: Job; started: number; timer: NodeJS.Timeout };
}

const config: Required<GraderPoolOptions> = {
  workers: availableParallelism() > 4 ? 2 : 1,
  startupTimeoutMs: 60_000,
  heapMb: 256,
};
const slots: Slot[] = [];
const queue: Job[] = [];
let nextId = 1;
let warned = false;
let runs = 0;

/** How many symbolic comparisons were asked of the pool so far (for benchmarks). */
export function symbolicRuns(): number {
  return runs;
}

/** Changes the pool settings; threads already running keep theirs until replaced. */
export function configureGrader(options: GraderPoolOptions): void {
  for (const [key, value] of Object.entries(options) as [keyof GraderPoolOptions, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 1) throw new RangeError(`configureGrader: ${key} must be a number ≥ 1, got ${value}`);
    config[key] = key === 'workers' ? Math.floor(value) : value;
  }
}

/** Terminates the grader's threads; comparisons still queued end as 'unavailable'. */
export async function shutdownGrader(): Promise<void> {
  for (const job of queue.splice(0)) job.resolve({ verdict: 'unavailable', elapsedMs: 0 });
  await Promise.all(slots.splice(0).map((slot) => retire(slot, 'unavailable')));
}

/**
 * Runs one symbolic comparison on a worker thread, allowing it `timeoutMs` of the
 * thread's time (waiting in the queue or for a thread to start does not count).
 */
export function runSymbolic(query: SymbolicQuery, timeoutMs: number): Promise<SymbolicOutcome> {
  runs++;
  return new Promise((resolve) => {
    queue.push({ query, timeoutMs, resolve });
    pump();
  });
}

function pump(): void {
  while (queue.length > 0) {
    const slot = slots.find((s) => s.ready && !s.job);
    if (!slot) {
      if (slots.length < config.workers) slots.push(spawn());
      break;
    }
    const job = queue.shift()!;
    const id = nextId++;
    const timer = setTimeout(() => {
      void retire(slot, 'timeout');
      slots.push(spawn()); // the replacement starts now, not when the next comparison comes
      pump();
    }, job.timeoutMs);
    slot.job = { id, job, started: performance.now(), timer };
    slot.worker.postMessage({ id, query: job.query } satisfies WorkerRequest);
  }
  // Threads keep the process alive only while there is work for them.
  for (const slot of slots) {
    if (slot.job || queue.length > 0) slot.worker.ref();
    else slot.worker.unref();
  }
}

function spawn(): Slot {
  const worker = createWorker();
  const slot: Slot = { worker, ready: false };
  const startup = setTimeout(() => void fail(new Error(`no reply within ${config.startupTimeoutMs} ms`)), config.startupTimeoutMs);
  startup.unref();
  const fail = async (error: Error) => {
    clearTimeout(startup);
    const wasReady = slot.ready;
    await retire(slot, 'unavailable');
    if (!wasReady) {
      // The engine cannot load here: say so once, and do not retry for every job.
      if (!warned) process.emitWarning(`torl.reward: the symbolic grader's worker failed to start: ${error.message}`);
      warned = true;
      for (const job of queue.splice(0)) job.resolve({ verdict: 'unavailable', elapsedMs: 0 });
    }
    pump();
  };
  worker.on('message', (reply: WorkerReply) => {
    if ('ready' in reply) {
      clearTimeout(startup);
      slot.ready = true;
    } else if (slot.job && reply.id === slot.job.id) {
      const { job, started, timer } = slot.job;
      clearTimeout(timer);
      slot.job = undefined;
      job.resolve({ verdict: reply.equal ? 'equal' : 'unequal', elapsedMs: performance.now() - started });
    }
    pump();
  });
  worker.on('error', (error) => void fail(error));
  worker.on('exit', (code) => {
    if (slots.includes(slot)) void fail(new Error(`exited with code ${code}`));
  });
  return slot;
}

/** Removes `slot` from the pool and terminates its thread, ending its job with `verdict`. */
async function retire(slot: Slot, verdict: SymbolicVerdict): Promise<void> {
  const at = slots.indexOf(slot);
  if (at >= 0) slots.splice(at, 1);
  if (slot.job) {
    clearTimeout(slot.job.timer);
    slot.job.job.resolve({ verdict, elapsedMs: performance.now() - slot.job.started });
    slot.job = undefined;
  }
  await slot.worker.terminate();
}

/**
 * The worker thread. From dist/ it is worker.js. From the TypeScript sources (tests, benches)
 * it is worker.ts: tap's ts-node loader reaches worker threads, tsx's does not on Node 20,
 * so then the thread registers tsx itself and loads the file again.
 */
function createWorker(): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  const url = new URL(fromSources ? './worker.ts' : './worker.js', import.meta.url);
  const options = { resourceLimits: { maxOldGenerationSizeMb: config.heapMb } };
  if (!fromSources) return new Worker(url, options);
  let tsx = 'null';
  try {
    tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  } catch {
    // tsx is not installed: only an inherited loader can run the sources.
  }
  const href = JSON.stringify(url.href);
  const source =
    `import(${href}).catch(async (e) => {` +
    ` if (e?.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || ${tsx} === null) throw e;` +
    ` (await import(${tsx})).register(); return import(${href} + '?tsx'); });`;
  return new Worker(source, { ...options, eval: true });
}
