// Timing and limits for the editor signals (DESIGN §2), one place for their defaults. The
// extension reads each from settings (hindsight.signals.*, hindsight.completions.*) so tests
// can shorten them; this file is pure and only knows the defaults and how to sanitise values.

export interface SignalsConfig {
  /** A shown suggestion not accepted within this many ms is rejected (10 s). */
  rejectAfterMs: number;
  /** After the whole suggestion appears in the document, how long to wait for its accept command (1 s). */
  acceptGraceMs: number;
  /** Displays shorter than this (ms) are not counted as shown at all (250 ms). */
  minDisplayMs: number;
  /** After a rejection, wait this long (ms) and record what was typed at that spot (30 s). */
  typedInsteadAfterMs: number;
  /** Survival checks after acceptance, in ms (15, 30, 120, 300, 600 s). */
  survivalCheckpointsMs: number[];
  /** Diagnostics within this many lines of the inserted range count as "near" (2). */
  diagnosticsNearLines: number;
  /** How long after acceptance diagnostics are attributed to the episode (ms, 600 s). */
  diagnosticsWindowMs: number;
  /** Test/build outcomes are attributed to episodes accepted within this window (ms, 30 min). */
  outcomeWindowMs: number;
  /** Interval between commit checks for accepted code (ms, 60 s). */
  commitPollMs: number;
  /** How long an accepted episode is followed for commits (ms, 24 h). */
  commitWindowMs: number;
  /** Characters of terminal output kept as the outcome excerpt (4000). */
  outputExcerptChars: number;
}

export const DEFAULT_SIGNALS: SignalsConfig = {
  rejectAfterMs: 10_000,
  minDisplayMs: 250,
  acceptGraceMs: 1000,
  typedInsteadAfterMs: 30_000,
  survivalCheckpointsMs: [15_000, 30_000, 120_000, 300_000, 600_000],
  diagnosticsNearLines: 2,
  diagnosticsWindowMs: 600_000,
  outcomeWindowMs: 30 * 60_000,
  commitPollMs: 60_000,
  commitWindowMs: 24 * 3600_000,
  outputExcerptChars: 4000,
};

/** Merges user values over the defaults, dropping anything that is not a sane number. */
export function resolveSignalsConfig(raw: Partial<Record<keyof SignalsConfig, unknown>>): SignalsConfig {
  const out: SignalsConfig = { ...DEFAULT_SIGNALS, survivalCheckpointsMs: [...DEFAULT_SIGNALS.survivalCheckpointsMs] };
  for (const key of Object.keys(DEFAULT_SIGNALS) as (keyof SignalsConfig)[]) {
    const v = raw[key];
    if (key === 'survivalCheckpointsMs') {
      if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && x >= 0)) out.survivalCheckpointsMs = [...v].sort((a, b) => a - b);
    } else if (typeof v === 'number' && Number.isFinite(v) && v >= 0) {
      (out as unknown as Record<string, number>)[key] = v;
    }
  }
  return out;
}
