// Independent references for the op tests: plain float64 loops and a seeded
// RNG. Nothing here shares code with the native kernels.

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [-1, 1) as a Float32Array. */
export function randn(n: number, rand: () => number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() * 2 - 1;
  return a;
}

/** Rounds each value to bf16 (nearest even), returned widened to f32. */
export function roundBf16(a: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const o = new Uint32Array(out.buffer);
  for (let i = 0; i < a.length; i++) {
    const x = u[i]!;
    o[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) << 16;
  }
  return out;
}

/** Row-major float64 matmul with optional transposes: C[m, n] = op(A)·op(B). Also returns Σ|a||b| per entry. */
export function matmul64(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  n: number,
  k: number,
  transA = false,
  transB = false,
): { c: Float64Array; mag: Float64Array } {
  const c = new Float64Array(m * n);
  const mag = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      let g = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * m + i]! : a[i * k + p]!;
        const bv = transB ? b[j * k + p]! : b[p * n + j]!;
        s += av * bv;
        g += Math.abs(av * bv);
      }
      c[i * n + j] = s;
      mag[i * n + j] = g;
    }
  return { c, mag };
}

/**
 * Largest violation of |got - want| ≤ atol + rtol·mag over all entries, as a
 * message naming the first bad index, or null when all are within tolerance.
 */
export function compare(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  mag: ArrayLike<number>,
  rtol: number,
  atol = 1e-6,
): string | null {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= atol + rtol * mag[i]!)) return `index ${i}: got ${got[i]}, want ${want[i]} (|err| ${err}, bound ${atol + rtol * mag[i]!})`;
  }
  return null;
}
