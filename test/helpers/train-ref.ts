// Float64 references for the training ops (lm-head log-prob, GRPO loss and
// advantages, AdamW, sampling), written plainly after the published
// definitions (veRL's core_algos, torch.optim.AdamW, Random123's Philox).
// Nothing here shares code with the native kernels or calls torl.

/** Full [T, V] logits / temperature, in float64. */
function logits64(h: ArrayLike<number>, w: ArrayLike<number>, T: number, D: number, V: number, temp: number): Float64Array {
  const z = new Float64Array(T * V);
  for (let t = 0; t < T; t++)
    for (let j = 0; j < V; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += h[t * D + d]! * w[j * D + d]!;
      z[t * V + j] = s / temp;
    }
  return z;
}

/** log-softmax of one row. */
export function logSoftmax(z: ArrayLike<number>, from = 0, n = z.length): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, z[from + j]!);
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(z[from + j]! - m);
  const lse = m + Math.log(s);
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = z[from + j]! - lse;
  return out;
}

export interface LmHeadRef {
  logprob: Float64Array;
  entropy: Float64Array;
  lse: Float64Array;
  /** d loss / d hidden [T, D] and d loss / d weight [V, D] for the given upstream gradients. */
  dhidden: Float64Array;
  dweight: Float64Array;
  /**
   * What float rounding scales with, per entry. A logit z = h·w / temp computed in f32 is off
   * by up to ~eps · zMag, zMag = max_j Σ_d |h_d w_jd| / temp of its row, and that error
   * reaches log p (twice: z_j and the lse), the entropy (through p_j (log p_j + H)) and d z;
   * logprobMag, entropyMag and lseMag are the outputs' own sizes plus that propagated error.
   * dhiddenMag and dweightMag are Σ_j (|dz| + its propagated error)·|w| [T, D] and the same
   * with |h| [V, D]: what the gradient GEMMs' rounding and d z's error scale with.
   */
  logprobMag: Float64Array;
  entropyMag: Float64Array;
  lseMag: Float64Array;
  dhiddenMag: Float64Array;
  dweightMag: Float64Array;
}

/**
 * The naive LM-head log-prob: full logits, full log-softmax, gather, entropy;
 * and its gradient for upstream gl = d/d logprob, gh = d/d entropy (zeros when absent).
 */
export function lmHeadRef(
  h: ArrayLike<number>,
  w: ArrayLike<number>,
  targets: ArrayLike<number>,
  T: number,
  D: number,
  V: number,
  temp: number,
  gl?: ArrayLike<number>,
  gh?: ArrayLike<number>,
): LmHeadRef {
  const z = logits64(h, w, T, D, V, temp);
  const logprob = new Float64Array(T), entropy = new Float64Array(T), lse = new Float64Array(T);
  const logprobMag = new Float64Array(T), entropyMag = new Float64Array(T), lseMag = new Float64Array(T);
  const dz = new Float64Array(T * V), dzMag = new Float64Array(T * V);
  for (let t = 0; t < T; t++) {
    const lp = logSoftmax(z, t * V, V);
    let zMag = 0;
    for (let j = 0; j < V; j++) {
      let m = 0;
      for (let d = 0; d < D; d++) m += Math.abs(h[t * D + d]! * w[j * D + d]!);
      zMag = Math.max(zMag, m / temp);
    }
    lse[t] = z[t * V]! - lp[0]!;
    logprob[t] = lp[targets[t]!]!;
    let H = 0;
    for (let j = 0; j < V; j++) H -= Math.exp(lp[j]!) * lp[j]!;
    entropy[t] = H;
    let spread = 0; // Σ_j p_j |log p_j + H|: how far the entropy moves per unit of logit error
    for (let j = 0; j < V; j++) spread += Math.exp(lp[j]!) * Math.abs(lp[j]! + H);
    lseMag[t] = Math.abs(lse[t]!) + zMag;
    logprobMag[t] = Math.abs(logprob[t]!) + 2 * zMag;
    entropyMag[t] = Math.abs(H) + spread * zMag;
    const a = gl ? gl[t]! : 0, b = gh ? gh[t]! : 0;
    for (let j = 0; j < V; j++) {
      const p = Math.exp(lp[j]!);
      // d logprob / d z_j = δ − p;  d H / d z_j = −p (log p + H); d z / d logits = 1 / temp
      dz[t * V + j] = (a * ((j === targets[t] ? 1 : 0) - p) - b * p * (lp[j]! + H)) / temp;
      dzMag[t * V + j] = Math.abs(dz[t * V + j]!) + (p * (2 * Math.abs(a) + Math.abs(b) * (2 * Math.abs(lp[j]! + H) + 2 + spread)) * zMag) / temp;
    }
  }
  const dhidden = new Float64Array(T * D), dweight = new Float64Array(V * D);
  const dhiddenMag = new Float64Array(T * D), dweightMag = new Float64Array(V * D);
  for (let t = 0; t < T; t++)
    for (let j = 0; j < V; j++) {
      const g = dz[t * V + j]!, gm = dzMag[t * V + j]!;
      if (gm === 0) continue;
      for (let d = 0; d < D; d++) {
        dhidden[t * D + d] = dhidden[t * D + d]! + g * w[j * D + d]!;
        dweight[j * D + d] = dweight[j * D + d]! + g * h[t * D + d]!;
        dhiddenMag[t * D + d] = dhiddenMag[t * D + d]! + gm * Math.abs(w[j * D + d]!);
        dweightMag[j * D + d] = dweightMag[j * D + d]! + gm * Math.abs(h[t * D + d]!);
      }
    }
  return { logprob, entropy, lse, logprobMag, entropyMag, lseMag, dhidden, dweight, dhiddenMag, dweightMag };
}

export type KlType = 'k1' | 'k2' | 'k3';
export type LossAgg = 'token-mean' | 'seq-mean-token-sum' | 'seq-mean-token-mean';

export interface GrpoRefOptions {
  clipLow: number;
  clipHigh: number;
  /** dual-clip bound c, or null for none */
  clipRatioC: number | null;
  klCoef: number;
  klType: KlType;
  entropyCoef: number;
  agg: LossAgg;
  /** packed sequence boundaries [S + 1] (the seq-mean modes) */
  cuSeqlens?: ArrayLike<number>;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

/** veRL's agg_loss over packed sequences; an all-masked sequence contributes 0 but counts in S. */
function aggLoss(loss: ArrayLike<number>, mask: ArrayLike<number>, agg: LossAgg, cu?: ArrayLike<number>): number {
  const T = loss.length;
  if (agg === 'token-mean') {
    let num = 0, den = 0;
    for (let t = 0; t < T; t++) {
      num += loss[t]! * mask[t]!;
      den += mask[t]!;
    }
    return den === 0 ? 0 : num / den;
  }
  if (!cu) throw new Error('aggLoss: cuSeqlens needed');
  const S = cu.length - 1;
  let total = 0;
  for (let s = 0; s < S; s++) {
    let num = 0, den = 0;
    for (let t = cu[s]!; t < cu[s + 1]!; t++) {
      num += loss[t]! * mask[t]!;
      den += mask[t]!;
    }
    total += agg === 'seq-mean-token-sum' ? num : den === 0 ? 0 : num / den;
  }
  return total / S;
}

/** The masked token mean veRL reports its metrics with. */
function maskedMean(x: ArrayLike<number>, mask: ArrayLike<number>): number {
  return aggLoss(x, mask, 'token-mean');
}

export interface GrpoRef {
  loss: number;
  clipFraction: number;
  clipFractionLower: number;
  approxKl: number;
  klMean: number;
  entropyMean: number;
  ratioMean: number;
  ratioMax: number;
}

/** veRL's compute_policy_loss + kl_penalty + entropy bonus, per token, then aggregated. */
export function grpoLossRef(
  logp: ArrayLike<number>,
  oldLogp: ArrayLike<number>,
  adv: ArrayLike<number>,
  mask: ArrayLike<number>,
  ref: ArrayLike<number> | null,
  entropy: ArrayLike<number> | null,
  o: GrpoRefOptions,
): GrpoRef {
  const T = logp.length;
  const pg = new Float64Array(T), kl = new Float64Array(T), ratio = new Float64Array(T);
  const clipped = new Float64Array(T), lower = new Float64Array(T), negKl = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const nk = clamp(logp[t]! - oldLogp[t]!, -20, 20);
    const r = Math.exp(nk);
    ratio[t] = r;
    negKl[t] = -nk;
    const A = adv[t]!;
    const l1 = -A * r, l2 = -A * clamp(r, 1 - o.clipLow, 1 + o.clipHigh);
    const c1 = Math.max(l1, l2);
    clipped[t] = l2 > l1 ? 1 : 0;
    if (o.clipRatioC !== null && A < 0) {
      const l3 = -A * o.clipRatioC;
      pg[t] = Math.min(l3, c1);
      lower[t] = c1 > l3 ? 1 : 0;
    } else pg[t] = c1;
    if (ref) {
      if (o.klType === 'k1') kl[t] = logp[t]! - ref[t]!;
      else if (o.klType === 'k2') kl[t] = 0.5 * (logp[t]! - ref[t]!) ** 2;
      else {
        const d = clamp(ref[t]! - logp[t]!, -20, 20);
        kl[t] = clamp(Math.exp(d) - d - 1, -10, 10);
      }
    }
  }
  let loss = aggLoss(pg, mask, o.agg, o.cuSeqlens);
  if (o.klCoef !== 0) loss += o.klCoef * aggLoss(kl, mask, o.agg, o.cuSeqlens);
  if (o.entropyCoef !== 0) loss -= o.entropyCoef * aggLoss(entropy!, mask, o.agg, o.cuSeqlens);
  let ratioMax = 0;
  for (let t = 0; t < T; t++) if (mask[t]! > 0) ratioMax = Math.max(ratioMax, ratio[t]!);
  return {
    loss,
    clipFraction: maskedMean(clipped, mask),
    clipFractionLower: maskedMean(lower, mask),
    approxKl: maskedMean(negKl, mask),
    klMean: ref ? maskedMean(kl, mask) : 0,
    entropyMean: entropy ? maskedMean(entropy, mask) : 0,
    ratioMean: maskedMean(ratio, mask),
    ratioMax,
  };
}

/** Central finite differences of f at x (float64), one coordinate at a time. */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-6): Float64Array {
  const xs = Float64Array.from(x);
  const g = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const x0 = xs[i]!;
    xs[i] = x0 + h;
    const fp = f(xs);
    xs[i] = x0 - h;
    const fm = f(xs);
    xs[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** veRL's GRPO outcome advantage, except that a group of one gives 0. */
export function grpoAdvantagesRef(r: ArrayLike<number>, groups: ArrayLike<number>, eps: number, normStd: boolean): Float64Array {
  const members = new Map<number, number[]>();
  for (let i = 0; i < r.length; i++) {
    const g = groups[i]!;
    if (!members.has(g)) members.set(g, []);
    members.get(g)!.push(i);
  }
  const out = new Float64Array(r.length);
  for (const idx of members.values()) {
    if (idx.length === 1) continue;
    const mean = idx.reduce((s, i) => s + r[i]!, 0) / idx.length;
    const std = Math.sqrt(idx.reduce((s, i) => s + (r[i]! - mean) ** 2, 0) / (idx.length - 1));
    for (const i of idx) out[i] = normStd ? (r[i]! - mean) / (std + eps) : r[i]! - mean;
  }
  return out;
}

export interface AdamRefOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

/** One torch.optim.AdamW step in float64; returns the new (p, m, v). */
export function adamwRef(
  p: ArrayLike<number>,
  g: ArrayLike<number>,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  o: AdamRefOptions,
): { p: Float64Array; m: Float64Array; v: Float64Array } {
  const n = p.length;
  const P = new Float64Array(n), M = new Float64Array(n), Vv = new Float64Array(n);
  const bc1 = 1 - o.beta1 ** o.step, bc2 = 1 - o.beta2 ** o.step;
  for (let i = 0; i < n; i++) {
    const pi = p[i]! * (1 - o.lr * o.weightDecay);
    M[i] = o.beta1 * m[i]! + (1 - o.beta1) * g[i]!;
    Vv[i] = o.beta2 * v[i]! + (1 - o.beta2) * g[i]! * g[i]!;
    P[i] = pi - (o.lr / bc1) * (M[i]! / (Math.sqrt(Vv[i]!) / Math.sqrt(bc2) + o.eps));
  }
  return { p: P, m: M, v: Vv };
}

/** Philox4x32-10 (Random123): counter [4] and key [2] 32-bit words → 4 words. */
export function philox4x32(ctr: readonly number[], key: readonly number[]): number[] {
  let [c0, c1, c2, c3] = ctr.map((x) => BigInt(x >>> 0)) as [bigint, bigint, bigint, bigint];
  let [k0, k1] = key.map((x) => BigInt(x >>> 0)) as [bigint, bigint];
  const M = 0xffffffffn;
  for (let r = 0; r < 10; r++) {
    const p0 = 0xd2511f53n * c0, p1 = 0xcd9e8d57n * c2;
    [c0, c1, c2, c3] = [((p1 >> 32n) ^ c1 ^ k0) & M, p1 & M, ((p0 >> 32n) ^ c3 ^ k1) & M, p0 & M];
    k0 = (k0 + 0x9e3779b9n) & M;
    k1 = (k1 + 0xbb67ae85n) & M;
  }
  return [c0, c1, c2, c3].map(Number);
}

/** The uniform in [0, 1) that sample() draws for (seed, offset): 53 bits of the first two words. */
export function philoxUniform(seed: number, offset: number): number {
  const hi = (x: number) => Math.floor(x / 2 ** 32) >>> 0;
  const [x0, x1] = philox4x32([offset >>> 0, hi(offset), 0, 0], [seed >>> 0, hi(seed)]);
  return (x0! * 2 ** 21 + (x1! >>> 11)) / 2 ** 53;
}

export interface SampleRefOptions {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
}

/**
 * The exact distribution sample() draws from for one row: temperature, then
 * top-k (ties toward the lower id), top-p over the renormalised survivors,
 * min-p relative to the largest probability. Returns the probability of every
 * token (0 for the truncated ones) and the temperature-only log-probs.
 */
export function sampleDistRef(logits: ArrayLike<number>, o: SampleRefOptions): { probs: Float64Array; tempLogprob: Float64Array } {
  const V = logits.length;
  const z = Float64Array.from(logits, (x) => x / o.temperature);
  const tempLogprob = logSoftmax(z);
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => z[b]! - z[a]! || a - b);
  let kept = o.topK > 0 ? order.slice(0, o.topK) : order;
  if (o.topP < 1) {
    const mass = kept.reduce((s, j) => s + Math.exp(tempLogprob[j]!), 0);
    let before = 0;
    const out: number[] = [];
    for (const j of kept) {
      if (before / mass >= o.topP) break;
      out.push(j);
      before += Math.exp(tempLogprob[j]!);
    }
    kept = out;
  }
  if (o.minP > 0) {
    const pmax = Math.exp(tempLogprob[kept[0]!]!);
    kept = kept.filter((j) => Math.exp(tempLogprob[j]!) >= o.minP * pmax);
  }
  const probs = new Float64Array(V);
  let total = 0;
  for (const j of kept) total += Math.exp(tempLogprob[j]!);
  for (const j of kept) probs[j] = Math.exp(tempLogprob[j]!) / total;
  return { probs, tempLogprob };
}
