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

// ---- the gate on the goal (the hindsight rule) ----------------------------------------------
//
// A candidate is served only if (1) its values are finite; (2) the bits per byte of held-out code
// (the workspace's own code from recent prompts) stay within `maxBpbRegression` of the base model's;
// and, on held-out episodes — outside this round's training rows, waiting ones (never trained on)
// first — (3) it ranks the developer's text above the suggestion it replaced (Σ log π(text) >
// Σ log π(suggestion)) at least as often as the serving adapter (less one pair in four: a count
// over a handful of pairs is noisy), (4) the mean of that margin falls at most `marginTolerance`
// nats below the serving adapter's (scaled by √(4/pairs); counts move in steps; a round
// trained on the opposite of the developer's wishes moves the margins by several nats), and (5)
// the developer's texts do not become less likely: their mean log-probability per token falls at
// most `targetTolerance` below the serving adapter's ((3) and (4) alone can be passed by pushing
// every served suggestion down). (6) The earlier rounds' episodes this round replays are not
// held out, but the candidate must not unlearn them: the same count and margin checks apply to
// them — a batch that contradicts what the developer taught before shows there.

export interface PreferenceGateOptions {
  /** Largest relative bits-per-byte increase over the base model (0.02 = 2 %). */
  maxBpbRegression: number;
  /**
   * Largest drop of the mean held-out margin below the serving adapter's (nats), for
   * MARGIN_TOLERANCE_PAIRS pairs; it scales with 1/√pairs, as the noise of a mean does (one pair
   * may drop twice as far, sixteen half as far).
   */
  marginTolerance: number;
  /** Largest drop of the held-out developer texts' mean log-probability per token (nats). */
  targetTolerance: number;
}

export interface HeldOutScore {
  /** Σ log π(developer's text). */
  target: number;
  /** Its tokens. */
  tokens: number;
  /** Σ log π(developer's text) − Σ log π(suggestion it replaced), when it replaced one. */
  margin?: number;
}

export interface PreferenceGateInput {
  invalid?: string;
  /** Per held-out episode, under the serving adapter and under the candidate (same order). */
  serving: HeldOutScore[];
  candidate: HeldOutScore[];
  /** Earlier rounds' episodes replayed in this round, under the serving adapter and the candidate. */
  earlier?: { serving: HeldOutScore[]; candidate: HeldOutScore[] };
  bpbBase: number;
  bpbCandidate: number;
}

export interface PreferenceGateDecision {
  promote: boolean;
  reason?: string;
  /** Refused only because held-out code got worse (a smaller step may pass). */
  forgets?: boolean;
  /** Held-out episodes, and those with a replaced suggestion (pairs). */
  episodes: number;
  pairs: number;
  winsServing: number;
  winsCandidate: number;
  /** Mean margin over the pairs (nats). */
  marginServing?: number;
  marginCandidate?: number;
  /** Mean log π per token of the developer's held-out texts. */
  targetServing?: number;
  targetCandidate?: number;
  /** bpbCandidate / bpbBase − 1. */
  bpbRegression: number;
  /** The replayed earlier episodes' pairs: count, and mean margin under the serving adapter and the candidate. */
  earlierPairs?: number;
  earlierMarginServing?: number;
  earlierMarginCandidate?: number;
}

/** The number of pairs `marginTolerance` is stated for. */
export const MARGIN_TOLERANCE_PAIRS = 4;

/** The margin tolerance for a mean over `pairs` pairs. */
export function marginToleranceFor(tolerance: number, pairs: number): number {
  return tolerance * Math.sqrt(MARGIN_TOLERANCE_PAIRS / Math.max(1, pairs));
}

/**
 * Pairs the candidate may lose beyond the serving adapter's count: one in four (none under four).
 * A count over a handful of pairs is noisy too; the mean margin (above) still has to hold.
 */
export function winSlack(pairs: number): number {
  return Math.floor(pairs / 4);
}

export function decidePreference(input: PreferenceGateInput, o: PreferenceGateOptions): PreferenceGateDecision {
  const wins = (xs: HeldOutScore[]) => xs.filter((x) => x.margin !== undefined && x.margin > 0).length;
  const perToken = (xs: HeldOutScore[]) => {
    const n = xs.reduce((a, x) => a + x.tokens, 0);
    return n ? xs.reduce((a, x) => a + x.target, 0) / n : undefined;
  };
  const targetServing = perToken(input.serving), targetCandidate = perToken(input.candidate);
  const meanMargin = (xs: HeldOutScore[]) => {
    const m = xs.flatMap((x) => (x.margin !== undefined ? [x.margin] : []));
    return m.length ? m.reduce((a, x) => a + x, 0) / m.length : undefined;
  };
  const marginServing = meanMargin(input.serving), marginCandidate = meanMargin(input.candidate);
  const e = input.earlier;
  const earlierServing = e && meanMargin(e.serving), earlierCandidate = e && meanMargin(e.candidate);
  const base = {
    episodes: input.candidate.length,
    pairs: input.candidate.filter((x) => x.margin !== undefined).length,
    winsServing: wins(input.serving),
    winsCandidate: wins(input.candidate),
    ...(marginServing !== undefined ? { marginServing, marginCandidate } : {}),
    ...(targetServing !== undefined ? { targetServing, targetCandidate } : {}),
    bpbRegression: input.bpbCandidate / input.bpbBase - 1,
    ...(e && earlierServing !== undefined ? { earlierPairs: e.candidate.filter((x) => x.margin !== undefined).length, earlierMarginServing: earlierServing, earlierMarginCandidate: earlierCandidate } : {}),
  };
  if (input.invalid) return { promote: false, reason: `candidate is not usable: ${input.invalid}`, ...base };
  if (!Number.isFinite(base.bpbRegression) || input.candidate.some((x) => !Number.isFinite(x.target) || (x.margin !== undefined && !Number.isFinite(x.margin))))
    return { promote: false, reason: `candidate scores are not finite (bits per byte ${input.bpbCandidate})`, ...base };
  if (base.bpbRegression > o.maxBpbRegression)
    return { promote: false, forgets: true, reason: `forgets code: held-out bits per byte ${(base.bpbRegression * 100).toFixed(2)} % above the base model (limit ${(o.maxBpbRegression * 100).toFixed(2)} %)`, ...base };
  if (base.winsCandidate < base.winsServing - winSlack(base.pairs))
    return { promote: false, reason: `ranks the developer's text above the suggestion on fewer held-out episodes (${base.winsCandidate} of ${base.pairs}) than the serving adapter (${base.winsServing})`, ...base };
  if (marginServing !== undefined && !(marginCandidate! >= marginServing - marginToleranceFor(o.marginTolerance, base.pairs)))
    return { promote: false, reason: `moves held-out episodes away from the developer's text (mean margin over the suggestion ${marginCandidate!.toFixed(2)} vs ${marginServing.toFixed(2)} nats)`, ...base };
  if (targetServing !== undefined && !(targetCandidate! >= targetServing - o.targetTolerance))
    return { promote: false, reason: `makes the developer's held-out texts less likely (${targetCandidate!.toFixed(3)} vs ${targetServing.toFixed(3)} nats per token)`, ...base };
  if (e && earlierServing !== undefined) {
    if (wins(e.candidate) < wins(e.serving) - winSlack(base.earlierPairs ?? 0))
      return { promote: false, reason: `unlearns earlier corrections: ranks the developer's text first on ${wins(e.candidate)} of ${base.earlierPairs} earlier episodes, the serving adapter on ${wins(e.serving)}`, ...base };
    if (!(earlierCandidate! >= earlierServing - marginToleranceFor(o.marginTolerance, base.earlierPairs ?? 0)))
      return { promote: false, reason: `unlearns earlier corrections: mean margin on earlier episodes ${earlierCandidate!.toFixed(2)} vs ${earlierServing.toFixed(2)} nats`, ...base };
  }
  return { promote: true, ...base };
}
