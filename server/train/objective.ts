// The OpenClaw-RL policy loss as graph ops on the policy's per-token log-probs: the PPO clipped
// surrogate with asymmetric clipping, an optional k3 KL penalty to a reference, token-mean over
// a mask. Advantages are inputs (binary RL reward broadcast + OPD token advantages, opd.ts).
// Leaves out: computing advantages, the forward model (score.ts), gradients (autodiff).
//
//   ρ_t = exp(log π(y_t) − log π_behaviour(y_t))
//   ℓ_t = −min(ρ_t·A_t, clip(ρ_t, 1−ε, 1+ε_high)·A_t) + β·k3_t,  ε = 0.2, ε_high = 0.28
//   k3_t = exp(ref_t − log π_t) − (ref_t − log π_t) − 1        (Schulman's k3 estimator; ≥ 0)
//   L = Σ_t mask_t·ℓ_t / N,  N = masked tokens of the whole batch (input `loss_norm`)
// Dividing by the batch's token count (not each episode's) makes the sum of per-episode
// gradients the gradient of the batch token mean, whatever the episode lengths.
//
// kind 'nll' is the weighted likelihood instead: ℓ_t = −w_t·log π(y_t), with the per-token
// weights fed as `advantages` (1 for pretraining; the developer's own text as a target).
import type { Graph, Value } from '../graph/builder';

export interface ObjectiveConfig {
  /** 'ppo' (default): the clipped surrogate above; 'nll': weighted negative log-likelihood. */
  kind?: 'ppo' | 'nll';
  /** Lower clip ε (ratio floor 1 − ε). */
  clipLow: number;
  /** Upper clip ε_high (ratio ceiling 1 + ε_high). */
  clipHigh: number;
  /** k3 KL weight β to the reference log-probs (0 = no reference input). */
  klBeta: number;
}

export const DEFAULT_OBJECTIVE: ObjectiveConfig = { clipLow: 0.2, clipHigh: 0.28, klBeta: 0 };

export interface ObjectiveValues {
  /** Scalar loss. */
  loss: Value;
  /** Scalar: masked tokens whose ratio was clipped (counted, divided by loss_norm). */
  clipFraction: Value;
  /** Inputs this function declared, [B, T] unless noted ('nll' declares no behaviour input). */
  behaviourLogprobs?: Value;
  advantages: Value;
  refLogprobs?: Value;
  /** Scalar input: masked tokens in the whole batch. */
  lossNorm: Value;
}

/** Graph input names (the trainer feeds these). */
export const OBJECTIVE_INPUTS = {
  behaviourLogprobs: 'behaviour_logprobs',
  advantages: 'advantages',
  refLogprobs: 'ref_logprobs',
  lossNorm: 'loss_norm',
} as const;

/**
 * Append the loss on `logp` ([B, T] policy log-probs of the taken tokens) with `mask` ([B, T],
 * 1 on response tokens). Declares the behaviour/advantage/(reference)/norm inputs.
 */
export function buildObjective(g: Graph, logp: Value, mask: Value, cfg: ObjectiveConfig = DEFAULT_OBJECTIVE): ObjectiveValues {
  if (!(cfg.clipLow > 0 && cfg.clipLow < 1 && cfg.clipHigh > 0)) throw new Error(`objective: need 0 < clipLow < 1 and clipHigh > 0, got ${cfg.clipLow}, ${cfg.clipHigh}`);
  const dt = logp.dtype;
  const shape = logp.shape ?? ['B', 'T'];
  if (cfg.kind === 'nll') return buildLikelihood(g, logp, mask);
  return g.scope('objective', () => {
    const behaviourLogprobs = g.input(OBJECTIVE_INPUTS.behaviourLogprobs, dt, shape);
    const advantages = g.input(OBJECTIVE_INPUTS.advantages, dt, shape);
    const lossNorm = g.input(OBJECTIVE_INPUTS.lossNorm, dt, []);
    const ratio = g.exp(g.sub(logp, behaviourLogprobs)); // ρ [B, T]
    const clipped = g.op('Clip', [ratio, g.scalar(1 - cfg.clipLow, dt), g.scalar(1 + cfg.clipHigh, dt)])[0];
    const surrogate = g.min(g.mul(ratio, advantages), g.mul(clipped, advantages)); // [B, T]
    let perToken = g.neg(surrogate);
    let refLogprobs: Value | undefined;
    if (cfg.klBeta > 0) {
      refLogprobs = g.input(OBJECTIVE_INPUTS.refLogprobs, dt, shape);
      const d = g.sub(refLogprobs, logp);
      const k3 = g.sub(g.sub(g.exp(d), d), g.scalar(1, dt));
      perToken = g.add(perToken, g.mul(k3, g.scalar(cfg.klBeta, dt)));
    }
    const all = Array.from({ length: shape.length }, (_, i) => i);
    const loss = g.div(g.reduceSum(g.mul(perToken, mask), all, false), lossNorm);
    // The clipped branch is active (gradient 0) where clip(ρ)·A < ρ·A.
    const active = g.cast(g.op('Less', [g.mul(clipped, advantages), g.mul(ratio, advantages)])[0], dt);
    const clipFraction = g.div(g.reduceSum(g.mul(active, mask), all, false), lossNorm);
    return { loss, clipFraction, behaviourLogprobs, advantages, refLogprobs, lossNorm };
  });
}

/** ℓ = −Σ mask·w·log π / N: the weights come in as `advantages`; clip_fraction is 0. */
function buildLikelihood(g: Graph, logp: Value, mask: Value): ObjectiveValues {
  const dt = logp.dtype;
  const shape = logp.shape ?? ['B', 'T'];
  return g.scope('objective', () => {
    const advantages = g.input(OBJECTIVE_INPUTS.advantages, dt, shape);
    const lossNorm = g.input(OBJECTIVE_INPUTS.lossNorm, dt, []);
    const all = Array.from({ length: shape.length }, (_, i) => i);
    const loss = g.div(g.neg(g.reduceSum(g.mul(g.mul(logp, advantages), mask), all, false)), lossNorm);
    const clipFraction = g.mul(lossNorm, g.scalar(0, dt));
    return { loss, clipFraction, advantages, lossNorm };
  });
}
