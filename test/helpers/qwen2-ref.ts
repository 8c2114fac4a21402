// A plain float64 Qwen2 (forward and backward) written from the math over the
// float64 layer references: embedding, RMSNorm, q/k/v with bias, RoPE
// rotate_half, causal GQA attention per packed sequence, o_proj, residuals,
// SwiGLU MLP, final norm, tied or untied LM head, log-softmax. Never calls torl.
import { attention64, attentionBackward64, embedding64, embeddingBackward64, rmsnorm64, rmsnormBackward64, rope64, swiglu64, swigluBackward64 } from './layers-ref.js';
import { matmul64 } from './reference.js';
import { lmHeadRef } from './train-ref.js';

export interface RefConfig {
  D: number;
  I: number;
  L: number;
  Hq: number;
  Hkv: number;
  Dh: number;
  V: number;
  theta: number;
  eps: number;
  tied: boolean;
}

/** Weights by our parameter names (`layers.0.attn.q.weight`, …), float64. */
export type Weights64 = Map<string, Float64Array>;

export interface RefBatch {
  tokens: Int32Array;
  positions: Int32Array;
  cu: Int32Array;
  /** every entry in [0, V) */
  targets: Int32Array;
}

export interface RefResult {
  logprob: Float64Array;
  /** The head's input: the final-norm hidden states [T, D]. */
  hidden: Float64Array;
  entropy: Float64Array;
  /** d loss / d parameter, by name (when upstream gradients were given). */
  grads: Map<string, Float64Array>;
}

/** y[T, M] = x[T, K] · w[M, K]ᵀ + b[M] */
function linear64(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, T: number, M: number, K: number): Float64Array {
  const y = matmul64(x, w, T, M, K, false, true).c;
  if (b) for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) y[t * M + m] = y[t * M + m]! + b[m]!;
  return y;
}

function addInto(a: Float64Array, b: ArrayLike<number>): Float64Array {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! + b[i]!;
  return a;
}

/**
 * Log-probs and entropies of the targets; with upstream gradients gl = d loss / d logprob
 * and gh = d loss / d entropy, also every parameter's gradient.
 */
export function qwen2Ref(c: RefConfig, W: Weights64, b: RefBatch, temperature: number, gl?: ArrayLike<number>, gh?: ArrayLike<number>): RefResult {
  const T = b.tokens.length, { D, I, Hq, Hkv, Dh, V } = c;
  const get = (n: string) => {
    const w = W.get(n);
    if (!w) throw new Error(`qwen2Ref: missing ${n}`);
    return w;
  };
  const lw = (l: number, s: string) => get(`layers.${l}.${s}`);
  const sh = { cu: b.cu, Hq, Hkv, Dh, scale: 1 / Math.sqrt(Dh) };
  type Acts = { x: Float64Array; y1: Float64Array; q: Float64Array; k: Float64Array; v: Float64Array; att: Float64Array; xmid: Float64Array; y2: Float64Array; g: Float64Array; u: Float64Array; m: Float64Array };
  const acts: Acts[] = [];
  let x = embedding64(b.tokens, get('embed.weight'), D).v;
  for (let l = 0; l < c.L; l++) {
    const y1 = rmsnorm64(x, null, lw(l, 'attn_norm.weight'), D, c.eps).y.v;
    const q = rope64(linear64(y1, lw(l, 'attn.q.weight'), lw(l, 'attn.q.bias'), T, Hq * Dh, D), b.positions, Hq, Dh, c.theta).v;
    const k = rope64(linear64(y1, lw(l, 'attn.k.weight'), lw(l, 'attn.k.bias'), T, Hkv * Dh, D), b.positions, Hkv, Dh, c.theta).v;
    const v = linear64(y1, lw(l, 'attn.v.weight'), lw(l, 'attn.v.bias'), T, Hkv * Dh, D);
    const att = attention64(q, k, v, sh).out.v;
    const xmid = addInto(linear64(att, lw(l, 'attn.o.weight'), null, T, D, Hq * Dh), x);
    const y2 = rmsnorm64(xmid, null, lw(l, 'mlp_norm.weight'), D, c.eps).y.v;
    const g = linear64(y2, lw(l, 'mlp.gate.weight'), null, T, I, D);
    const u = linear64(y2, lw(l, 'mlp.up.weight'), null, T, I, D);
    const m = swiglu64(g, u).v;
    acts.push({ x, y1, q, k, v, att, xmid, y2, g, u, m });
    x = addInto(linear64(m, lw(l, 'mlp.down.weight'), null, T, D, I), xmid);
  }
  const yf = rmsnorm64(x, null, get('final_norm.weight'), D, c.eps).y.v;
  const headName = c.tied ? 'embed.weight' : 'lm_head.weight';
  const head = lmHeadRef(yf, get(headName), b.targets, T, D, V, temperature, gl, gh);
  const grads = new Map<string, Float64Array>();
  if (!gl && !gh) return { logprob: head.logprob, hidden: yf, entropy: head.entropy, grads };

  const acc = (n: string, g: ArrayLike<number>) => grads.set(n, grads.has(n) ? addInto(grads.get(n)!, g) : Float64Array.from(g));
  // dy [T, M] of y = x·wᵀ + b → dx [T, K]; accumulates dw, db.
  const linBack = (dy: Float64Array, xin: Float64Array, name: string, M: number, K: number, bias: boolean) => {
    acc(`${name}.weight`, matmul64(dy, xin, M, K, T, true, false).c);
    if (bias) {
      const db = new Float64Array(M);
      for (let t = 0; t < T; t++) for (let m = 0; m < M; m++) db[m] = db[m]! + dy[t * M + m]!;
      acc(`${name}.bias`, db);
    }
    return matmul64(dy, get(`${name}.weight`), T, K, M).c;
  };
  acc(headName, head.dweight);
  const nf = rmsnormBackward64(head.dhidden, x, get('final_norm.weight'), D, c.eps, null);
  acc('final_norm.weight', nf.dw.v);
  let dx = nf.dx.v;
  for (let l = c.L - 1; l >= 0; l--) {
    const a = acts[l]!, p = `layers.${l}.`;
    const dm = linBack(dx, a.m, p + 'mlp.down', D, I, false);
    const sg = swigluBackward64(dm, a.g, a.u);
    const dy2 = addInto(linBack(sg.dgate.v, a.y2, p + 'mlp.gate', I, D, false), linBack(sg.dup.v, a.y2, p + 'mlp.up', I, D, false));
    const n2 = rmsnormBackward64(dy2, a.xmid, lw(l, 'mlp_norm.weight'), D, c.eps, dx);
    acc(p + 'mlp_norm.weight', n2.dw.v);
    const datt = linBack(n2.dx.v, a.att, p + 'attn.o', D, Hq * Dh, false);
    const ag = attentionBackward64(datt, a.q, a.k, a.v, sh);
    const dq = rope64(ag.dq.v, b.positions, Hq, Dh, c.theta, -1).v;
    const dk = rope64(ag.dk.v, b.positions, Hkv, Dh, c.theta, -1).v;
    const dy1 = linBack(dq, a.y1, p + 'attn.q', Hq * Dh, D, true);
    addInto(dy1, linBack(dk, a.y1, p + 'attn.k', Hkv * Dh, D, true));
    addInto(dy1, linBack(ag.dv.v, a.y1, p + 'attn.v', Hkv * Dh, D, true));
    const n1 = rmsnormBackward64(dy1, a.x, lw(l, 'attn_norm.weight'), D, c.eps, n2.dx.v);
    acc(p + 'attn_norm.weight', n1.dw.v);
    dx = n1.dx.v;
  }
  acc('embed.weight', embeddingBackward64(dx, b.tokens, V, D).v);
  return { logprob: head.logprob, hidden: yf, entropy: head.entropy, grads };
}
