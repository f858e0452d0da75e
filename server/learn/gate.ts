// The promotion gate: a candidate adapter is served only if it is finite, stays near the base model
// on held-out episodes (mean |Δ log-prob| per token under a bound: Refact #311's forgetting), and
// does not make the batch's preferred responses less likely on average. Pure: it takes log-probs
// computed elsewhere (worker.ts) and returns a decision with a reason a person can read.

export interface GateOptions {
  /** Largest mean |log π_candidate − log π_base| per held-out token (nats). */
  maxDrift: number;
  /** Allowed decrease of the preferred responses' mean per-token log-prob (nats; 0 = none). */
  tolerance: number;
}

export const DEFAULT_GATE: GateOptions = { maxDrift: 0.5, tolerance: 0 };

export interface GateInput {
  /** A problem with the candidate's values (non-finite …), or undefined when it is sound. */
  invalid?: string;
  /** Mean |Δ log-prob| per held-out token against the base model. */
  drift: number;
  /** Per batch episode: log-probs of its response tokens before and after the round, and whether it was preferred. */
  batch: { preferred: boolean; advantages: number[]; before: number[]; after: number[] }[];
}

export interface GateDecision {
  promote: boolean;
  reason?: string;
  drift: number;
  /** Mean per-token log-prob change of the preferred responses (undefined when none was preferred). */
  preferredDelta?: number;
  /** Advantage-weighted mean per-token log-prob change over the whole batch. */
  weightedDelta: number;
}

/** Mean over all tokens of |a − b| (rows aligned). */
export function meanAbsDelta(a: number[][], b: number[][]): number {
  let s = 0, n = 0;
  a.forEach((row, i) => row.forEach((x, t) => {
    s += Math.abs(x - b[i][t]);
    n++;
  }));
  return n ? s / n : 0;
}

export function decide(input: GateInput, o: GateOptions = DEFAULT_GATE): GateDecision {
  let pd = 0, pn = 0, wd = 0, wn = 0;
  for (const e of input.batch) {
    const d = e.after.map((x, t) => x - e.before[t]);
    if (e.preferred) {
      pd += d.reduce((s, x) => s + x, 0) / Math.max(1, d.length);
      pn++;
    }
    d.forEach((x, t) => {
      wd += Math.sign(e.advantages[t]) * x;
      wn++;
    });
  }
  const preferredDelta = pn ? pd / pn : undefined;
  const weightedDelta = wn ? wd / wn : 0;
  const base = { drift: input.drift, weightedDelta, ...(preferredDelta !== undefined ? { preferredDelta } : {}) };
  if (input.invalid) return { promote: false, reason: `candidate is not usable: ${input.invalid}`, ...base };
  if (!Number.isFinite(input.drift)) return { promote: false, reason: `drift from the base model is not finite (${input.drift})`, ...base };
  if (input.drift > o.maxDrift)
    return { promote: false, reason: `drifts too far from the base model: mean |Δ log-prob| ${input.drift.toFixed(3)} > ${o.maxDrift} per token on held-out episodes`, ...base };
  if (preferredDelta !== undefined && !(preferredDelta >= -o.tolerance))
    return { promote: false, reason: `makes the batch's preferred responses less likely (mean Δ log-prob ${preferredDelta.toFixed(4)} per token)`, ...base };
  // With no preferred response (every episode was penalised), ask that the round moved the batch
  // the way its advantages point: penalised responses less likely.
  if (preferredDelta === undefined && !(weightedDelta >= -o.tolerance))
    return { promote: false, reason: `moves the batch against its advantages (advantage-weighted Δ log-prob ${weightedDelta.toFixed(4)} per token)`, ...base };
  return { promote: true, ...base };
}
