// What this machine and this build can run on.
import { freemem, totalmem } from 'node:os';

import { native } from './native.js';
import type { BackendsInfo } from '../types/native.js';

export type { BackendsInfo, CpuInfo, CudaInfo } from '../types/native.js';

/** CPU (threads, SIMD level) and CUDA (compiled, available or why not, devices, cuBLASLt). */
export function backends(): BackendsInfo {
  return native.backends();
}

/** Waits until all work queued on `device` ('cuda', 'cuda:N') has finished; a no-op for 'cpu'. */
export function synchronize(device = 'cpu'): void {
  native.synchronize(device);
}

/**
 * Free and total memory of a device in bytes: for 'cpu' the host's (os.freemem / os.totalmem),
 * for a GPU cudaMemGetInfo's (free counting torl's cached idle blocks).
 */
export function memoryInfo(device = 'cpu'): { free: number; total: number } {
  if (device === 'cpu') return { free: freemem(), total: totalmem() };
  return native.memoryInfo(device);
}
