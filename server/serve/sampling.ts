// Token choice from logits: greedy, or temperature + nucleus (top-p) sampling with a seeded RNG.
// The log-prob returned is the model's own log-softmax at temperature 1 (what the score graph
// computes), so the trainer's behaviour log-probs and its re-scored ones are comparable.
export interface SamplingParams {
  /** 0 = greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 = no cut. */
  topP: number;
}

/** mulberry32: small, fast, seeded; quality is plenty for picking tokens. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** log Σ exp(logits), stable. */
export function logSumExp(logits: ArrayLike<number>): number {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > mx) mx = logits[i];
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i] - mx);
  return mx + Math.log(z);
}

export function sampleToken(logits: ArrayLike<number>, p: SamplingParams, random: () => number, banned?: Set<number>): { id: number; logprob: number } {
  const lse = logSumExp(logits);
  const allowed = (i: number) => !banned?.has(i);
  if (!(p.temperature > 0)) {
    let best = -1;
    for (let i = 0; i < logits.length; i++) if (allowed(i) && (best < 0 || logits[i] > logits[best])) best = i;
    return { id: best, logprob: logits[best] - lse };
  }
  // Tempered weights relative to the max; ids whose weight is below 1e-12 of the top cannot matter
  // at any top-p, so only the rest are sorted (a full sort of 150k ids per token costs ~30 ms).
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) if (allowed(i) && logits[i] > mx) mx = logits[i];
  const floor = mx + p.temperature * Math.log(1e-12);
  const idx: number[] = [];
  for (let i = 0; i < logits.length; i++) if (logits[i] >= floor && allowed(i)) idx.push(i);
  const topP = Math.min(Math.max(p.topP, 1e-6), 1);
  if (topP < 1) idx.sort((a, b) => logits[b] - logits[a]);
  const w = idx.map((i) => Math.exp((logits[i] - mx) / p.temperature));
  const total = w.reduce((a, b) => a + b, 0);
  let keep = idx.length;
  if (topP < 1) {
    let acc = 0;
    for (let k = 0; k < idx.length; k++) {
      acc += w[k] / total;
      if (acc >= topP) {
        keep = k + 1;
        break;
      }
    }
  }
  const mass = keep === idx.length ? total : w.slice(0, keep).reduce((a, b) => a + b, 0);
  let u = random() * mass;
  for (let k = 0; k < keep; k++) {
    u -= w[k];
    if (u <= 0) return { id: idx[k], logprob: logits[idx[k]] - lse };
  }
  return { id: idx[keep - 1], logprob: logits[idx[keep - 1]] - lse };
}
