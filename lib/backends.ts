// What this machine and this build can run on.
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
