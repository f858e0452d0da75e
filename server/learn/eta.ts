// Time left in a training round, for the status view's ETA. A round is counted in passes over its
// batch (forward + backward each, about equally long): PREPARE before the first step (the teacher's
// scores, the loss before), one per optimizer step, EVALUATE after (the loss after, drift under the
// candidate and under the base model). Pure.

export const PREPARE_PASSES = 2;
export const EVALUATE_PASSES = 3;

export const roundPasses = (steps: number) => PREPARE_PASSES + steps + EVALUATE_PASSES;

/** Passes finished, from the round's last progress report (none yet: preparing). */
export function passesDone(p: { state: 'training' | 'evaluating'; step: number; steps: number } | undefined): number {
  if (!p) return 0;
  return PREPARE_PASSES + (p.state === 'evaluating' ? p.steps : p.step);
}

/**
 * ms left: the time per pass measured in this round, else the one remembered from earlier rounds
 * (per episode in the batch); undefined when neither is known yet.
 */
export function etaMs(i: { elapsedMs: number; done: number; total: number; episodes: number; msPerEpisodePass?: number }): number | undefined {
  const perPass = i.done > 0 ? i.elapsedMs / i.done : i.msPerEpisodePass !== undefined ? i.msPerEpisodePass * i.episodes : undefined;
  if (perPass === undefined || !Number.isFinite(perPass)) return undefined;
  return Math.max(0, Math.round(perPass * (i.total - i.done) - (i.done > 0 ? 0 : i.elapsedMs)));
}

/** What one pass cost per episode in a finished round (for the next round's first estimate). */
export function msPerEpisodePass(ms: number, episodes: number, steps: number): number | undefined {
  return episodes > 0 && ms > 0 ? ms / (roundPasses(steps) * episodes) : undefined;
}
