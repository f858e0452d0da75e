// Hindsight-guided on-policy distillation (OPD) advantages and the combined advantage:
//   A_t^opd = clamp(log π_teacher(y_t | x+hint, y<t) − log π_old(y_t | x, y<t), −C, C),  C = 1
//   A_t     = w_rl·r + w_opd·A_t^opd                                   (w_rl = w_opd = 1)
// The teacher is the frozen base model with the hint in its context: the same score session
// with the adapter switched off (all-zero LoRA inputs), so no second copy of the weights.
// Leaves out: writing hints (server/judge) and the loss (objective.ts).

/** Anything that scores a target after a context, optionally under a LoRA adapter (ScoreSession does). */
export interface Scorer {
  /** log π(target_i | context, target_<i); `adapter` undefined = the base model. */
  score(context: number[], target: number[], adapter?: Map<string, Float32Array>): Promise<number[]>;
}

/** Where the hint's tokens go in the teacher's context (default: right before the response). */
export interface HintPlacement {
  tokens: number[];
  /** Index in the context to insert at (0 = before everything; default context.length). */
  at?: number;
}

export function withHint(context: number[], hint: HintPlacement): number[] {
  const at = hint.at ?? context.length;
  if (!Number.isInteger(at) || at < 0 || at > context.length) throw new Error(`hint position ${at} is outside the context (0..${context.length})`);
  if (!hint.tokens.length) throw new Error('empty hint: OPD needs hint tokens');
  return [...context.slice(0, at), ...hint.tokens, ...context.slice(at)];
}

export interface OpdInput {
  context: number[];
  response: number[];
  hint: HintPlacement;
  /** log π_old(y_t | x, y<t) as recorded when the response was served; scored with `adapter` if absent. */
  oldLogprobs?: number[];
}

export interface OpdResult {
  teacher: number[];
  old: number[];
  /** Clamped per-token OPD advantages. */
  advantages: number[];
}

export async function opdAdvantages(scorer: Scorer, input: OpdInput, adapter?: Map<string, Float32Array>, clip = 1): Promise<OpdResult> {
  if (!(clip > 0)) throw new Error(`OPD clamp C must be positive, got ${clip}`);
  const teacher = await scorer.score(withHint(input.context, input.hint), input.response, undefined);
  const old = input.oldLogprobs ?? (await scorer.score(input.context, input.response, adapter));
  if (old.length !== input.response.length) throw new Error(`oldLogprobs has ${old.length} entries for ${input.response.length} response tokens`);
  const advantages = teacher.map((t, i) => Math.min(clip, Math.max(-clip, t - old[i])));
  return { teacher, old, advantages };
}

export interface AdvantageWeights {
  wRl: number;
  wOpd: number;
}

export const DEFAULT_WEIGHTS: AdvantageWeights = { wRl: 1, wOpd: 1 };

/**
 * A_t = w_rl·r + w_opd·A_t^opd for n response tokens. The scalar reward (judge: +1/−1/0) is
 * broadcast to every token unnormalised; either signal may be absent.
 */
export function combineAdvantages(n: number, reward: number | undefined, opd: number[] | undefined, w: AdvantageWeights = DEFAULT_WEIGHTS): number[] {
  if (opd && opd.length !== n) throw new Error(`OPD advantages have ${opd.length} entries for ${n} tokens`);
  return Array.from({ length: n }, (_, t) => w.wRl * (reward ?? 0) + w.wOpd * (opd?.[t] ?? 0));
}
