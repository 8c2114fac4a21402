// Float64 reference for the elementwise add: out = a + alpha·b, with
// mag = |a| + |alpha·b| per entry (the scale of the f32 rounding error).
import type { Ref } from './layers-ref.js';

export function add64(a: ArrayLike<number>, b: ArrayLike<number>, alpha: number): Ref {
  const v = new Float64Array(a.length), mag = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    v[i] = a[i]! + alpha * b[i]!;
    mag[i] = Math.abs(a[i]!) + Math.abs(alpha * b[i]!);
  }
  return { v, mag };
}
