// What this machine and this build can run on.
import { native } from './native.js';
import type { BackendsInfo } from '../types/native.js';

export type { BackendsInfo, CpuInfo, CudaInfo } from '../types/native.js';

/** CPU (threads, SIMD level) and CUDA (compiled, available or why not, devices, cuBLASLt). */
export function backends(): BackendsInfo {
  return native.backends();
}
