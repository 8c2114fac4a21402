// The elementwise add of the native addon: a + α·b into a new tensor, and the
// in-place accumulate dst += α·src (no allocation). Operands have one shape and
// one device; each is f32 or bf16 (any mix), summed in f32; the result has the
// first operand's dtype.
import type { NativeTensor } from '../native.js';
import type { AsyncForms } from './train.js';

export interface AddOptions {
  /** the factor on the second operand; finite, default 1 */
  alpha?: number;
}

export interface AddOpsSync {
  /** out = a + alpha·b for a and b of one shape (any); out has a's dtype. */
  add(a: NativeTensor, b: NativeTensor, options?: AddOptions): NativeTensor;
  /**
   * dst += alpha·src in place (src of dst's shape; it may be dst itself). Returns
   * undefined: dst holds the sum (the async form resolves to undefined once it does).
   */
  addInPlace(dst: NativeTensor, src: NativeTensor, options?: AddOptions): void;
}

export interface AddOps extends AddOpsSync, AsyncForms<AddOpsSync> {}
