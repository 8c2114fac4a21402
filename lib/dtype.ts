// Element types shared by the native tensors, safetensors files and the model.

/** Element type of a tensor. Names follow the short forms used by llm.c / ggml. */
export type DType = 'f32' | 'bf16' | 'f16' | 'i32' | 'i64' | 'u8';

export const DTYPES: readonly DType[] = ['f32', 'bf16', 'f16', 'i32', 'i64', 'u8'];

/** Bytes per element. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  f32: 4, bf16: 2, f16: 2, i32: 4, i64: 8, u8: 1,
};

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}
