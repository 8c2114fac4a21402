// Float64 references for the transformer-layer ops (embedding, rmsnorm, rope,
// attention, swiglu): plain loops written from the math, sharing nothing with
// the native kernels. Each result also carries `mag`, the sum of the absolute
// values of the terms that make up each output, so tolerances can be
// relative to what f32 accumulation actually loses.

/** A float64 result with, per entry, Σ|terms| (the scale of its rounding error). */
export interface Ref {
  v: Float64Array;
  mag: Float64Array;
}

function ref(n: number): Ref {
  return { v: new Float64Array(n), mag: new Float64Array(n) };
}

/** y[t, :] = w[ids[t], :] */
export function embedding64(ids: Int32Array, w: ArrayLike<number>, D: number): Ref {
  const r = ref(ids.length * D);
  ids.forEach((id, t) => {
    for (let d = 0; d < D; d++) {
      r.v[t * D + d] = w[id * D + d]!;
      r.mag[t * D + d] = Math.abs(w[id * D + d]!);
    }
  });
  return r;
}

/** dw[v, :] = Σ_{t: ids[t] = v} dy[t, :] */
export function embeddingBackward64(dy: ArrayLike<number>, ids: Int32Array, V: number, D: number): Ref {
  const r = ref(V * D);
  ids.forEach((id, t) => {
    for (let d = 0; d < D; d++) {
      r.v[id * D + d] = r.v[id * D + d]! + dy[t * D + d]!;
      r.mag[id * D + d] = r.mag[id * D + d]! + Math.abs(dy[t * D + d]!);
    }
  });
  return r;
}

export interface Rmsnorm64 {
  y: Ref;
  s: Float64Array;
  rstd: Float64Array;
}

/** s = x + r (r optional), y = s / sqrt(mean(s²) + eps) · w, rows of D. */
export function rmsnorm64(
  x: ArrayLike<number>,
  r: ArrayLike<number> | null,
  w: ArrayLike<number>,
  D: number,
  eps: number,
): Rmsnorm64 {
  const T = x.length / D;
  const s = Float64Array.from(x, (v, i) => v + (r ? r[i]! : 0));
  const rstd = new Float64Array(T);
  const y = ref(T * D);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += s[t * D + d]! ** 2;
    rstd[t] = 1 / Math.sqrt(ss / D + eps);
    for (let d = 0; d < D; d++) {
      y.v[t * D + d] = s[t * D + d]! * rstd[t]! * w[d]!;
      y.mag[t * D + d] = Math.abs(y.v[t * D + d]!);
    }
  }
  return { y, s, rstd };
}

/** Gradients of y = rmsnorm(s) · w given dy (s the normalised input), plus dres passed through. */
export function rmsnormBackward64(
  dy: ArrayLike<number>,
  s: ArrayLike<number>,
  w: ArrayLike<number>,
  D: number,
  eps: number,
  dres: ArrayLike<number> | null,
): { dx: Ref; dw: Ref } {
  const T = s.length / D;
  const dx = ref(T * D), dw = ref(D);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += s[t * D + d]! ** 2;
    const rs = 1 / Math.sqrt(ss / D + eps);
    // y_d = s_d·rs·w_d; ∂rs/∂s_j = −rs³·s_j/D
    let c = 0, cMag = 0;
    for (let d = 0; d < D; d++) {
      c += dy[t * D + d]! * w[d]! * s[t * D + d]!;
      cMag += Math.abs(dy[t * D + d]! * w[d]! * s[t * D + d]!);
    }
    for (let j = 0; j < D; j++) {
      const i = t * D + j;
      const extra = dres ? dres[i]! : 0;
      dx.v[i] = rs * dy[i]! * w[j]! - (rs ** 3 * s[i]! * c) / D + extra;
      dx.mag[i] = rs * Math.abs(dy[i]! * w[j]!) + (rs ** 3 * Math.abs(s[i]!) * cMag) / D + Math.abs(extra);
      dw.v[j] = dw.v[j]! + dy[i]! * s[i]! * rs;
      dw.mag[j] = dw.mag[j]! + Math.abs(dy[i]! * s[i]! * rs);
    }
  }
  return { dx, dw };
}

/** HF rotate_half rope of x [T, H, Dh] by sign·pos·theta^(−2i/Dh). */
export function rope64(x: ArrayLike<number>, pos: Int32Array, H: number, Dh: number, theta: number, sign = 1): Ref {
  const T = pos.length, half = Dh / 2;
  const r = ref(T * H * Dh);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < half; i++) {
      const a = sign * pos[t]! * theta ** ((-2 * i) / Dh);
      const c = Math.cos(a), s = Math.sin(a);
      for (let h = 0; h < H; h++) {
        const o = (t * H + h) * Dh;
        const x1 = x[o + i]!, x2 = x[o + i + half]!;
        r.v[o + i] = x1 * c - x2 * s;
        r.v[o + i + half] = x2 * c + x1 * s;
        r.mag[o + i] = Math.abs(x1 * c) + Math.abs(x2 * s);
        r.mag[o + i + half] = Math.abs(x2 * c) + Math.abs(x1 * s);
      }
    }
  return r;
}

/** Shapes of a packed attention problem: q [T, Hq, Dh], k/v [T, Hkv, Dh], sequences by cuSeqlens. */
export interface AttnShape {
  cu: Int32Array;
  Hq: number;
  Hkv: number;
  Dh: number;
  scale: number;
}

// For query t of head h: the probabilities over keys j in [start, t] of its sequence.
function probs(q: ArrayLike<number>, k: ArrayLike<number>, sh: AttnShape, t: number, h: number, start: number) {
  const { Hq, Hkv, Dh, scale } = sh;
  const hk = Math.floor(h / (Hq / Hkv));
  const s: number[] = [];
  for (let j = start; j <= t; j++) {
    let dot = 0;
    for (let d = 0; d < Dh; d++) dot += q[(t * Hq + h) * Dh + d]! * k[(j * Hkv + hk) * Dh + d]!;
    s.push(dot * scale);
  }
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return { p: e.map((x) => x / sum), lse: m + Math.log(sum), hk };
}

function seqStarts(sh: AttnShape, T: number): Int32Array {
  const start = new Int32Array(T);
  for (let b = 0; b + 1 < sh.cu.length; b++) for (let t = sh.cu[b]!; t < sh.cu[b + 1]!; t++) start[t] = sh.cu[b]!;
  return start;
}

/** Causal GQA attention: out [T, Hq, Dh] and lse [Hq, T]. */
export function attention64(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, sh: AttnShape) {
  const { Hq, Hkv, Dh } = sh;
  const T = q.length / (Hq * Dh);
  const start = seqStarts(sh, T);
  const out = ref(T * Hq * Dh), lse = new Float64Array(Hq * T);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < Hq; h++) {
      const { p, lse: l, hk } = probs(q, k, sh, t, h, start[t]!);
      lse[h * T + t] = l;
      p.forEach((pj, n) => {
        const j = start[t]! + n;
        for (let d = 0; d < Dh; d++) {
          const o = (t * Hq + h) * Dh + d, x = v[(j * Hkv + hk) * Dh + d]!;
          out.v[o] = out.v[o]! + pj * x;
          out.mag[o] = out.mag[o]! + pj * Math.abs(x);
        }
      });
    }
  return { out, lse };
}

/** Gradients of Σ dout ∘ attention(q, k, v). */
export function attentionBackward64(
  dout: ArrayLike<number>,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  sh: AttnShape,
) {
  const { Hq, Hkv, Dh, scale } = sh;
  const T = q.length / (Hq * Dh);
  const start = seqStarts(sh, T);
  const dq = ref(T * Hq * Dh), dk = ref(T * Hkv * Dh), dv = ref(T * Hkv * Dh);
  const add = (r: Ref, i: number, x: number, m: number) => {
    r.v[i] = r.v[i]! + x;
    r.mag[i] = r.mag[i]! + m;
  };
  for (let t = 0; t < T; t++)
    for (let h = 0; h < Hq; h++) {
      const { p, hk } = probs(q, k, sh, t, h, start[t]!);
      const row = (t * Hq + h) * Dh;
      const dp = p.map((_, n) => {
        let s = 0;
        for (let d = 0; d < Dh; d++) s += dout[row + d]! * v[((start[t]! + n) * Hkv + hk) * Dh + d]!;
        return s;
      });
      const D = p.reduce((a, pj, n) => a + pj * dp[n]!, 0);
      const Dmag = p.reduce((a, pj, n) => a + pj * Math.abs(dp[n]!), 0);
      p.forEach((pj, n) => {
        const j = start[t]! + n, kv = (j * Hkv + hk) * Dh;
        const ds = pj * (dp[n]! - D) * scale, dsMag = pj * (Math.abs(dp[n]!) + Dmag) * scale;
        for (let d = 0; d < Dh; d++) {
          add(dq, row + d, ds * k[kv + d]!, dsMag * Math.abs(k[kv + d]!));
          add(dk, kv + d, ds * q[row + d]!, dsMag * Math.abs(q[row + d]!));
          add(dv, kv + d, pj * dout[row + d]!, pj * Math.abs(dout[row + d]!));
        }
      });
    }
  return { dq, dk, dv };
}

const sigmoid = (g: number) => 1 / (1 + Math.exp(-g));

/** y = silu(gate) · up */
export function swiglu64(gate: ArrayLike<number>, up: ArrayLike<number>): Ref {
  const r = ref(gate.length);
  for (let i = 0; i < gate.length; i++) {
    r.v[i] = gate[i]! * sigmoid(gate[i]!) * up[i]!;
    r.mag[i] = Math.abs(r.v[i]!);
  }
  return r;
}

/** dgate, dup of Σ dy ∘ swiglu(gate, up). */
export function swigluBackward64(dy: ArrayLike<number>, gate: ArrayLike<number>, up: ArrayLike<number>) {
  const dgate = ref(gate.length), dup = ref(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!, s = sigmoid(g);
    dup.v[i] = dy[i]! * g * s;
    dgate.v[i] = dy[i]! * up[i]! * s * (1 + g * (1 - s));
    dup.mag[i] = Math.abs(dup.v[i]!);
    dgate.mag[i] = Math.abs(dy[i]! * up[i]! * s) * (1 + Math.abs(g * (1 - s)));
  }
  return { dgate, dup };
}
