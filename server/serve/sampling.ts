// Token choice from logits: greedy, or temperature + nucleus (top-p) sampling with a seeded RNG.
// The log-prob returned is the model's own log-softmax at temperature 1 (what the score graph
// computes), so the trainer's behaviour log-probs and its re-scored ones are comparable.
export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = no cut. */
  topP: number;
}

/** The project's one seeded PRNG (mulberry32); sampling needs nothing better for picking tokens. */
export { seededRandom } from '../train/random';

/** log Σ exp(logits), stable. */
export function logSumExp(logits: ArrayLike<number>): number {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > mx) mx = logits[i];
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - mx);
  return mx + Math.log(z);
}

/** The sampler's working arrays, kept between tokens (a vocabulary-sized pair each token was garbage). */
let scratch = { idx: new Int32Array(0), w: new Float64Array(0) };

/**
 * Pick a token. `lse` (log Σ exp logits) may come from the graph; otherwise it is computed here.
 * Typed arrays and plain loops: this runs once per token over the whole vocabulary (~150k).
 */
export function sampleToken(logits: ArrayLike<number>, p: SamplingParams, random: () => number, banned?: Set<number>, lse = logSumExp(logits)): { id: number; logprob: number } {
  const n = logits.length;
  let best = -1;
  for (let i = 0; i < n; i++) if ((best < 0 || logits[i] > logits[best]) && !(banned && banned.has(i))) best = i;
  if (!(p.temperature > 0)) return { id: best, logprob: logits[best] - lse };
  // Tempered weights relative to the max; ids whose weight is below 1e-12 of the top cannot matter
  // at any top-p, so only the rest are kept (and sorted only when top-p < 1).
  const mx = logits[best];
  const invT = 1 / p.temperature;
  const floor = mx + p.temperature * Math.log(1e-12);
  if (scratch.idx.length < n) scratch = { idx: new Int32Array(n), w: new Float64Array(n) };
  let m = 0;
  for (let i = 0; i < n; i++) if (logits[i] >= floor && !(banned && banned.has(i))) scratch.idx[m++] = i;
  const idx = scratch.idx.subarray(0, m);
  const topP = Math.min(Math.max(p.topP, 1e-6), 1);
  if (topP < 1) idx.sort((a, b) => logits[b] - logits[a]);
  const w = scratch.w;
  let total = 0;
  for (let k = 0; k < m; k++) total += w[k] = Math.exp((logits[idx[k]] - mx) * invT);
  let keep = m;
  let mass = total;
  if (topP < 1) {
    let acc = 0;
    for (let k = 0; k < m; k++) {
      acc += w[k];
      if (acc >= topP * total) {
        keep = k + 1;
        mass = acc;
        break;
      }
    }
  }
  let u = random() * mass;
  for (let k = 0; k < keep; k++) {
    u -= w[k];
    if (u <= 0) return { id: idx[k], logprob: logits[idx[k]] - lse };
  }
  return { id: idx[keep - 1], logprob: logits[idx[keep - 1]] - lse };
}
