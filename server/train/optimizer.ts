// AdamW over named flat parameter arrays, in TypeScript: the update is O(params) and for a
// LoRA adapter that is a few million floats, so a typed-array loop beats shipping p, m, v, g
// through an ORT session (bench/train.ts measures both). Also: global grad-norm clipping, the
// LR schedule, and gradient accumulation. Leaves out: computing gradients (step.ts).
//
// AdamW as torch.optim.AdamW (https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html):
//   p ← p − lr·λ·p;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)

export type Params = Map<string, Float32Array | Float64Array>;
export type Grads = Map<string, Float32Array | Float64Array>;

export interface LrSchedule {
  /** 'constant' after warmup, or 'cosine' decay from lr to minLrRatio·lr at totalSteps. */
  kind: 'constant' | 'cosine';
  /** Linear warmup from lr/warmupSteps to lr over this many steps (0 = none). */
  warmupSteps: number;
  /** Steps of the cosine decay (required for 'cosine'). */
  totalSteps?: number;
  minLrRatio?: number;
}

export interface AdamWConfig {
  lr: number;
  /** OpenClaw-RL uses (0.9, 0.98). */
  betas: [number, number];
  eps: number;
  /** Decoupled weight decay λ (OpenClaw-RL: 0.1). */
  weightDecay: number;
  /** Clip the global L2 norm of the gradient to this (torch.nn.utils.clip_grad_norm_); 0 = off. */
  maxGradNorm: number;
  schedule: LrSchedule;
  /** Parameters exempt from weight decay (norm gains and biases in full-parameter training). */
  noDecay?: (name: string) => boolean;
}

export const DEFAULT_ADAMW: AdamWConfig = {
  lr: 1e-4,
  betas: [0.9, 0.98],
  eps: 1e-8,
  weightDecay: 0.1,
  maxGradNorm: 1,
  schedule: { kind: 'constant', warmupSteps: 0 },
};

/** Learning rate at optimizer step `t` (1-based). */
export function lrAt(cfg: Pick<AdamWConfig, 'lr' | 'schedule'>, t: number): number {
  const s = cfg.schedule;
  if (s.warmupSteps > 0 && t <= s.warmupSteps) return (cfg.lr * t) / s.warmupSteps;
  if (s.kind === 'constant') return cfg.lr;
  if (!s.totalSteps || s.totalSteps <= s.warmupSteps) throw new Error(`cosine schedule needs totalSteps > warmupSteps (${s.warmupSteps}), got ${s.totalSteps}`);
  const progress = Math.min(1, (t - s.warmupSteps) / (s.totalSteps - s.warmupSteps));
  const min = cfg.lr * (s.minLrRatio ?? 0);
  return min + (cfg.lr - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** L2 norm over every gradient tensor, in float64. NaN/Infinity if any entry is. */
export function globalNorm(grads: Grads): number {
  let s = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

export type StepReport =
  | { applied: true; step: number; lr: number; gradNorm: number; clipped: boolean }
  | { applied: false; step: number; reason: string };

export interface AdamWState {
  step: number;
  m: Params;
  v: Params;
}

export class AdamW {
  readonly cfg: AdamWConfig;
  private t = 0;
  private m: Params = new Map();
  private v: Params = new Map();

  constructor(readonly params: Params, cfg: Partial<AdamWConfig> = {}) {
    this.cfg = { ...DEFAULT_ADAMW, ...cfg, schedule: { ...DEFAULT_ADAMW.schedule, ...cfg.schedule } };
    const [b1, b2] = this.cfg.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`AdamW betas must be in [0, 1), got [${b1}, ${b2}]`);
    if (!(this.cfg.lr >= 0)) throw new Error(`AdamW lr must be ≥ 0, got ${this.cfg.lr}`);
    for (const [k, p] of params) {
      const Ctor = p instanceof Float64Array ? Float64Array : Float32Array;
      this.m.set(k, new Ctor(p.length));
      this.v.set(k, new Ctor(p.length));
    }
  }

  /** Completed optimizer steps. */
  get step(): number {
    return this.t;
  }

  /**
   * Clip and apply one update from `grads` (one entry per parameter). A non-finite `loss` or
   * gradient skips the step and leaves parameters and moments untouched.
   */
  apply(grads: Grads, loss = 0): StepReport {
    for (const k of this.params.keys()) {
      const g = grads.get(k);
      if (!g) throw new Error(`AdamW: no gradient for parameter ${k}`);
      if (g.length !== this.params.get(k)!.length) throw new Error(`AdamW: gradient ${k} has ${g.length} entries, parameter has ${this.params.get(k)!.length}`);
    }
    const norm = globalNorm(grads);
    if (!Number.isFinite(loss)) return { applied: false, step: this.t, reason: `non-finite loss ${loss}` };
    if (!Number.isFinite(norm)) return { applied: false, step: this.t, reason: `non-finite gradient (norm ${norm})` };
    const clip = this.cfg.maxGradNorm > 0 ? Math.min(1, this.cfg.maxGradNorm / (norm + 1e-6)) : 1;
    const t = ++this.t;
    const lr = lrAt(this.cfg, t);
    const [b1, b2] = this.cfg.betas;
    const stepSize = lr / (1 - b1 ** t);
    const bc2 = Math.sqrt(1 - b2 ** t);
    const decayAll = 1 - lr * this.cfg.weightDecay;
    const eps = this.cfg.eps;
    for (const [k, p] of this.params) {
      const g = grads.get(k)!, m = this.m.get(k)!, v = this.v.get(k)!;
      const decay = this.cfg.noDecay?.(k) ? 1 : decayAll;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] * clip;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        p[i] = p[i] * decay - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2 + eps);
      }
    }
    return { applied: true, step: t, lr, gradNorm: norm, clipped: clip < 1 };
  }

  /** Moments and step count (for resuming; the caller persists them). */
  state(): AdamWState {
    return { step: this.t, m: this.m, v: this.v };
  }

  load(s: AdamWState): void {
    for (const [k, p] of this.params) {
      if (s.m.get(k)?.length !== p.length || s.v.get(k)?.length !== p.length) throw new Error(`AdamW state: moments for ${k} are missing or mis-sized`);
    }
    this.t = s.step;
    this.m = s.m;
    this.v = s.v;
  }
}

/**
 * Sums gradients over episodes of a batch. Each episode's graph is normalised by the batch's
 * total token count (see objective.ts), so the plain sum is the gradient of the batch token mean
 * whatever the episode lengths.
 */
export class GradAccumulator {
  readonly sum: Map<string, Float64Array> = new Map();
  loss = 0;
  episodes = 0;
  nonFinite = false;

  constructor(shapes: Map<string, number>) {
    for (const [k, n] of shapes) this.sum.set(k, new Float64Array(n));
  }

  add(grads: Map<string, ArrayLike<number>>, loss: number): void {
    for (const [k, s] of this.sum) {
      const g = grads.get(k);
      if (!g || g.length !== s.length) throw new Error(`GradAccumulator: gradient ${k} missing or mis-sized`);
      for (let i = 0; i < s.length; i++) s[i] += g[i];
    }
    if (!Number.isFinite(loss)) this.nonFinite = true;
    this.loss += loss;
    this.episodes++;
  }

  reset(): void {
    for (const s of this.sum.values()) s.fill(0);
    this.loss = 0;
    this.episodes = 0;
    this.nonFinite = false;
  }
}
