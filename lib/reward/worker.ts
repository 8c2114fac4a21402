// Entry of the grader's worker thread (see pool.ts): answers symbolic comparisons, one
// message at a time. Kept small: the work is in symbolic.ts.

import { parentPort } from 'node:worker_threads';
import type { SymbolicQuery } from './query.js';
import { computeEngine, symbolicEqual } from './symbolic.js';

/** A request from the pool. */
export interface WorkerRequest {
  id: number;
  query: SymbolicQuery;
}

/** 'ready' once the engine is loaded; then one reply per request. */
export type WorkerReply = { ready: true } | { id: number; equal: boolean };

const port = parentPort;
if (port) {
  computeEngine();
  port.on('message', ({ id, query }: WorkerRequest) => {
    let equal = false;
    try {
      equal = symbolicEqual(query);
    } catch {
      // Unparseable or pathological input (including stack overflow) is "not equal".
    }
    port.postMessage({ id, equal } satisfies WorkerReply);
  });
  port.postMessage({ ready: true } satisfies WorkerReply);
}
