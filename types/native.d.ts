// The interface of the native addon (build/Release/torl.node), as lib/native.ts
// loads it. Shapes in comments use the kernels' names: N tokens, K inputs,
// M outputs.
import type { DType } from '../lib/dtype.js';
import type { TrainOps } from './ops/train.js';
import type { LayerOps } from './ops/layers.js';
import type { AddOps } from './ops/add.js';
import type { PagedOps } from './ops/paged.js';
import type { NativeQwen2ModelClass } from './model.js';

/** Typed array returned by Tensor.toArray(), by dtype (bf16/f16 widen to f32). */
export type ArrayFor<D extends DType> = D extends 'i32'
  ? Int32Array
  : D extends 'i64'
    ? BigInt64Array
    : D extends 'u8'
      ? Uint8Array
      : Float32Array;

/** A typed, shaped, contiguous block of memory on the host or a GPU. */
export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  /** 'cpu' or 'cuda:N'. */
  readonly device: string;
  readonly disposed: boolean;
  readonly byteLength: number;
  /** A host copy of the values (bf16/f16 widened to f32, i64 as BigInt64Array). */
  toArray(): Float32Array | Int32Array | BigInt64Array | Uint8Array;
  /** A host copy of the raw little-endian element bytes. */
  toBytes(): Uint8Array;
  /** A copy on another device ('cpu', 'cuda', 'cuda:N'). */
  to(device: string): NativeTensor;
  /** Releases this handle's memory now (ops still running keep their own reference). */
  dispose(): void;
}

export interface CpuInfo {
  threads: number;
  simd: 'avx512' | 'avx2' | 'scalar';
}

export interface CudaInfo {
  /** The addon was built with nvcc. */
  compiled: boolean;
  /** A driver and at least one GPU answered. */
  available: boolean;
  /** Why CUDA is unavailable (absent when available). */
  reason?: string;
  devices: string[];
  /** cuBLASLt was found and loaded (else our own tensor-core GEMM serves). */
  cublasLt: boolean;
  /** Where cuBLASLt was loaded from, or why it was not. */
  cublasLtPath: string;
  runtimeVersion?: number;
  driverVersion?: number;
}

export interface BackendsInfo {
  cpu: CpuInfo;
  cuda: CudaInfo;
}

export interface LinearGrads {
  /** [N, K], x's dtype */
  dx: NativeTensor;
  /** [M, K], f32 */
  dw: NativeTensor;
  /** [M], f32; present when requested with {bias: true} */
  db?: NativeTensor;
}

/** The fused ops. Each has an async form (`nameAsync`) that computes off the JS thread. */
export interface NativeOps extends TrainOps, LayerOps, AddOps, PagedOps {
  /** y[N, M] = x[N, K] · w[M, K]ᵀ + bias[M] (nn.Linear); y takes x's dtype. */
  linear(x: NativeTensor, w: NativeTensor, bias?: NativeTensor | null): NativeTensor;
  linearAsync(x: NativeTensor, w: NativeTensor, bias?: NativeTensor | null): Promise<NativeTensor>;
  /** dx = dy·w, dw = dyᵀ·x, db = Σ_n dy (with {bias: true}). */
  linearBackward(dy: NativeTensor, x: NativeTensor, w: NativeTensor, options?: { bias?: boolean }): LinearGrads;
  linearBackwardAsync(dy: NativeTensor, x: NativeTensor, w: NativeTensor, options?: { bias?: boolean }): Promise<LinearGrads>;
}

export type TensorData =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Int8Array
  | Int16Array
  | Uint32Array
  | readonly number[];

export interface NativeBinding {
  /** The Tensor class (for instanceof); instances come from the functions below and from ops. */
  Tensor: abstract new (...args: never[]) => NativeTensor;
  backends(): BackendsInfo;
  fromArray(data: TensorData, shape: readonly number[], dtype?: DType, device?: string, copy?: boolean): NativeTensor;
  fromBytes(bytes: Uint8Array, shape: readonly number[], dtype: DType, device?: string): NativeTensor;
  empty(shape: readonly number[], dtype?: DType, device?: string): NativeTensor;
  zeros(shape: readonly number[], dtype?: DType, device?: string): NativeTensor;
  synchronize(device?: string): void;
  /** Free and total bytes of a GPU ('cuda', 'cuda:N'); free includes torl's cached idle blocks. Throws without a usable GPU. */
  memoryInfo(device: string): { free: number; total: number };
  /** The native Qwen2 model class (native/napi/model_wrap.cc); lib/model/model.ts wraps it as `Model`. */
  Qwen2Model: NativeQwen2ModelClass;
  /** The op families. */
  ops: NativeOps;
}
