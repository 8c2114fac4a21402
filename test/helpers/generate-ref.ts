// Naive generation references for the engine: the whole sequence recomputed
// by the float64 Qwen2 (qwen2-ref.ts) for every new token, no cache of any kind.
import type { Model } from '../../lib/model/index.js';
import type { ModelConfig } from '../../lib/model/index.js';
import { qwen2Ref, type RefConfig, type Weights64 } from './qwen2-ref.js';

export function refConfig(c: ModelConfig): RefConfig {
  return { D: c.hiddenSize, I: c.intermediateSize, L: c.numHiddenLayers, Hq: c.numAttentionHeads, Hkv: c.numKeyValueHeads, Dh: c.headDim, V: c.vocabSize, theta: c.ropeTheta, eps: c.rmsNormEps, tied: c.tieWordEmbeddings };
}

export function weights64(m: Model): Weights64 {
  return new Map([...m.parameters()].map(([n, w]) => [n, Float64Array.from(w.toArray() as Float32Array)]));
}

/** log softmax of the next-token logits after `tokens` (float64, temperature 1). */
export function nextLogprobs64(c: RefConfig, W: Weights64, tokens: readonly number[]): Float64Array {
  const T = tokens.length;
  const r = qwen2Ref(c, W, { tokens: Int32Array.from(tokens), positions: Int32Array.from(tokens, (_, i) => i), cu: Int32Array.from([0, T]), targets: new Int32Array(T) }, 1);
  const h = r.hidden.subarray((T - 1) * c.D, T * c.D);
  const head = W.get(c.tied ? 'embed.weight' : 'lm_head.weight')!;
  const z = new Float64Array(c.V);
  for (let j = 0; j < c.V; j++) {
    let s = 0;
    for (let d = 0; d < c.D; d++) s += h[d]! * head[j * c.D + d]!;
    z[j] = s;
  }
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
  return z.map((x) => x - lse);
}

/** Greedy continuation of `prompt` by `steps` tokens, with each chosen token's log-prob and its margin over the runner-up. */
export function greedy64(c: RefConfig, W: Weights64, prompt: readonly number[], steps: number): { tokens: number[]; logprobs: number[]; margins: number[]; minMargin: number } {
  const seq = [...prompt], tokens: number[] = [], logprobs: number[] = [], margins: number[] = [];
  for (let s = 0; s < steps; s++) {
    const lp = nextLogprobs64(c, W, seq);
    let best = 0;
    for (let j = 1; j < lp.length; j++) if (lp[j]! > lp[best]!) best = j;
    const second = Math.max(...Array.from(lp).filter((_, j) => j !== best));
    margins.push(lp[best]! - second);
    tokens.push(best);
    logprobs.push(lp[best]!);
    seq.push(best);
  }
  return { tokens, logprobs, margins, minMargin: Math.min(...margins) };
}
