// Tensors: handles over native memory (host or GPU). Creation functions here;
// the methods (shape, dtype, device, toArray, to, dispose) are native.
import type { DType } from './dtype.js';
import { native } from './native.js';
import type { NativeTensor, TensorData } from '../types/native.js';

export type Tensor = NativeTensor;
/** The Tensor class, for `instanceof` checks. */
export const Tensor = native.Tensor;

export interface TensorOptions {
  /** Element type; default from the data (Float32Array/number[] → f32, Int32Array → i32, …). */
  dtype?: DType;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /**
   * false: borrow the TypedArray's memory instead of copying (CPU only, and
   * the array must already hold the dtype: Float32Array for f32, Uint16Array
   * bits for bf16/f16, …). The array is kept alive while the tensor exists.
   */
  copy?: boolean;
}

/** A tensor from values; shape defaults to [data.length]. */
export function tensor(data: TensorData, shape?: readonly number[], options: TensorOptions = {}): Tensor {
  return native.fromArray(data, shape ?? [data.length], options.dtype, options.device, options.copy ?? true);
}

/** A zero-filled tensor. */
export function zeros(shape: readonly number[], options: Omit<TensorOptions, 'copy'> = {}): Tensor {
  return native.zeros(shape, options.dtype, options.device);
}

/** An uninitialised tensor. */
export function empty(shape: readonly number[], options: Omit<TensorOptions, 'copy'> = {}): Tensor {
  return native.empty(shape, options.dtype, options.device);
}

/** A tensor from raw little-endian element bytes (e.g. a safetensors slice). */
export function fromBytes(bytes: Uint8Array, shape: readonly number[], dtype: DType, options: { device?: string } = {}): Tensor {
  return native.fromBytes(bytes, shape, dtype, options.device);
}
