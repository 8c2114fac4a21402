// AdamW over a Model's parameters, through the native adamw / clipGradNorm ops:
// moments (and fp32 master weights when the model is bf16) live on the model's device.
import { native } from '../native.js';
import { fromBytes, tensor, zeros, type Tensor } from '../tensor.js';
import type { HostTensor } from './safetensors.js';
import type { Model } from './model.js';
import { checkSchedule, scheduledLr, type LrSchedule } from './schedule.js';

export interface AdamWConfig {
  /** Peak learning rate. */
  lr: number;
  /** Default [0.9, 0.999]. */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay on matrices (norm weights and biases are not decayed, as llm.c / nanoGPT). Default 0.01. */
  weightDecay?: number;
  /** Clip the global gradient norm to this before the step (none by default). */
  maxGradNorm?: number;
  /** Default constant. */
  schedule?: LrSchedule;
}

/** What a checkpoint keeps of an AdamW: the steps taken and, per parameter, `m.<name>`, `v.<name>` (and `master.<name>` for a bf16 model), f32 host copies. */
export interface AdamWState {
  step: number;
  tensors: Map<string, HostTensor>;
}

export interface StepInfo {
  /** The step just taken (1-based); unchanged when skipped. */
  step: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** The norm was not finite: no update happened. */
  skipped: boolean;
}

interface Group {
  params: Tensor[];
  m: Tensor[];
  v: Tensor[];
  master: Tensor[];
  names: string[];
  decay: boolean;
}

/** torch.optim.AdamW semantics (bias correction, decoupled decay) with global-norm clipping and an LR schedule. */
export class AdamW {
  private readonly groups: Group[];
  private readonly shapes: Map<string, number[]>;
  private t = 0;

  constructor(
    private readonly model: Model,
    private readonly options: AdamWConfig,
  ) {
    const { lr, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0.01, maxGradNorm } = options;
    if (!(lr >= 0)) throw new Error(`AdamW: lr must be ≥ 0, got ${lr}`);
    if (!betas.every((b) => b >= 0 && b < 1)) throw new Error(`AdamW: betas must be in [0, 1), got [${betas.join(', ')}]`);
    if (!(eps > 0)) throw new Error(`AdamW: eps must be > 0, got ${eps}`);
    if (!(weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be ≥ 0, got ${weightDecay}`);
    if (maxGradNorm !== undefined && !(maxGradNorm > 0)) throw new Error(`AdamW: maxGradNorm must be > 0, got ${maxGradNorm}`);
    checkSchedule(options.schedule ?? { type: 'constant' });
    const bf16 = model.dtype === 'bf16';
    const device = model.device;
    this.shapes = new Map();
    this.groups = [true, false].map((decay) => ({ params: [], m: [], v: [], master: [], names: [], decay }));
    for (const [name, p] of model.parameters()) {
      const g = this.groups[p.shape.length >= 2 ? 0 : 1]!;
      g.names.push(name);
      g.params.push(p);
      g.m.push(zeros(p.shape, { device }));
      g.v.push(zeros(p.shape, { device }));
      if (bf16) g.master.push(tensor(p.to('cpu').toArray() as Float32Array, p.shape, { device }));
      this.shapes.set(name, p.shape);
    }
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.t;
  }

  /** The learning rate the next step will use. */
  get lr(): number {
    return scheduledLr(this.options.lr, this.options.schedule ?? { type: 'constant' }, this.t + 1);
  }

  /** Clip (if configured) and update every parameter in place from the accumulated gradients. */
  async step(): Promise<StepInfo> {
    const grads = this.model.gradients();
    const device = this.model.device;
    const gradOf = (name: string): Tensor => grads.get(name) ?? zeros(this.shapes.get(name)!, { device });
    const all = this.groups.map((g) => g.names.map(gradOf));
    const flat = all.flat();
    const { maxGradNorm } = this.options;
    const { norm } = maxGradNorm !== undefined
      ? await native.ops.clipGradNormAsync(flat, { maxNorm: maxGradNorm })
      : await native.ops.gradNormAsync(flat);
    const lr = this.lr;
    if (!Number.isFinite(norm)) return { step: this.t, lr, gradNorm: norm, skipped: true };
    this.t += 1;
    const [beta1, beta2] = this.options.betas ?? [0.9, 0.999];
    for (const [i, g] of this.groups.entries()) {
      if (g.params.length === 0) continue;
      await native.ops.adamwAsync(g.params, all[i]!, g.m, g.v, {
        step: this.t,
        lr,
        beta1,
        beta2,
        eps: this.options.eps ?? 1e-8,
        weightDecay: g.decay ? (this.options.weightDecay ?? 0.01) : 0,
        master: g.master.length ? g.master : undefined,
      });
    }
    this.model.weightsChanged();
    return { step: this.t, lr, gradNorm: norm, skipped: false };
  }

  /** A host copy of the optimizer's state (see AdamWState), e.g. for a checkpoint. */
  state(): AdamWState {
    const tensors = new Map<string, HostTensor>();
    const put = (key: string, t: Tensor) => tensors.set(key, { dtype: t.dtype, shape: t.shape, data: t.toBytes() });
    for (const g of this.groups) {
      g.names.forEach((name, i) => {
        put(`m.${name}`, g.m[i]!);
        put(`v.${name}`, g.v[i]!);
        if (g.master.length) put(`master.${name}`, g.master[i]!);
      });
    }
    return { step: this.t, tensors };
  }

  /** Restores a state taken by state() of an AdamW over the same architecture; throws naming the first missing or mis-shaped tensor. */
  loadState(state: AdamWState): void {
    if (!Number.isInteger(state.step) || state.step < 0) throw new Error(`AdamW.loadState: step must be a non-negative integer, got ${state.step}`);
    const device = this.model.device;
    const take = (key: string, shape: number[]): Tensor => {
      const h = state.tensors.get(key);
      if (!h) throw new Error(`AdamW.loadState: the state has no tensor "${key}"`);
      if (h.dtype !== 'f32' || h.shape.join(',') !== shape.join(',')) throw new Error(`AdamW.loadState: "${key}" is ${h.dtype} [${h.shape.join(', ')}], expected f32 [${shape.join(', ')}]`);
      return fromBytes(h.data, h.shape, 'f32', { device });
    };
    const next = this.groups.map((g) => ({
      m: g.names.map((name) => take(`m.${name}`, this.shapes.get(name)!)),
      v: g.names.map((name) => take(`v.${name}`, this.shapes.get(name)!)),
      master: g.master.length ? g.names.map((name) => take(`master.${name}`, this.shapes.get(name)!)) : [],
    }));
    this.groups.forEach((g, i) => {
      for (const t of [...g.m, ...g.v, ...g.master]) t.dispose();
      Object.assign(g, next[i]);
    });
    this.t = state.step;
  }

  /** Clears the model's accumulated gradients. */
  zeroGrad(): void {
    this.model.zeroGrad();
  }
}
