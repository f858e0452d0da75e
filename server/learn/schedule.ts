// hindsight.training.* settings with their defaults and bounds, and the schedule decision: given
// the setting and what is pending, train now, wait (how long), or not at all. Pure.
import type { learn } from '../../protocol';

export type LearnSettings = Required<learn.Settings>;

export const DEFAULT_SETTINGS: LearnSettings = {
  schedule: 'idle',
  batchSize: 16, // OpenClaw-RL's batch
  minEpisodes: 4,
  idleSeconds: 30,
  stepsPerRound: 4,
  learningRate: 1e-3, // bench:learn: 1e-4 (OpenClaw-RL's) moves too little in 4 steps; 2e-3 fails the code bound
  maxStaleness: 8,
  maxDrift: 0.5,
  maxRoundMinutes: 10,
  maxBpbRegression: 0.02,
  keepVersions: 10, // ≈ 35 MB each at 0.5B (r 16, every projection)
};

const SCHEDULES = new Set(['off', 'manual', 'idle', 'continuous']);

/** Merge `input` over `base`, clamping numbers into sane ranges; bad values keep the base value. */
export function mergeSettings(base: LearnSettings, input: learn.Settings | undefined): LearnSettings {
  const out = { ...base };
  if (!input) return out;
  if (input.schedule !== undefined && SCHEDULES.has(input.schedule)) out.schedule = input.schedule;
  const num = (v: unknown, lo: number, hi: number, int: boolean) =>
    typeof v === 'number' && Number.isFinite(v) ? Math.min(hi, Math.max(lo, int ? Math.round(v) : v)) : undefined;
  out.batchSize = num(input.batchSize, 1, 256, true) ?? out.batchSize;
  out.minEpisodes = num(input.minEpisodes, 1, 256, true) ?? out.minEpisodes;
  out.idleSeconds = num(input.idleSeconds, 0, 3600, false) ?? out.idleSeconds;
  out.stepsPerRound = num(input.stepsPerRound, 1, 100, true) ?? out.stepsPerRound;
  out.learningRate = num(input.learningRate, 0, 1, false) ?? out.learningRate;
  out.maxStaleness = num(input.maxStaleness, 0, 1e6, true) ?? out.maxStaleness;
  out.maxDrift = num(input.maxDrift, 0, 100, false) ?? out.maxDrift;
  out.maxRoundMinutes = num(input.maxRoundMinutes, 0, 24 * 60, false) ?? out.maxRoundMinutes;
  out.maxBpbRegression = num(input.maxBpbRegression, 0, 10, false) ?? out.maxBpbRegression;
  out.keepVersions = num(input.keepVersions, 0, 1e6, true) ?? out.keepVersions;
  return out;
}

export interface ScheduleInput {
  settings: LearnSettings;
  /** Usable settled episodes not yet trained on. */
  pending: number;
  /** ms since the last new suggestion (episode) was recorded; Infinity when none. */
  idleMs: number;
  busy: boolean;
  /** How long a round would take on this machine (from the last round), when known. */
  estimatedMs?: number;
}

export type ScheduleDecision = { kind: 'train' } | { kind: 'wait'; ms: number } | { kind: 'no'; why: string };

export function decideSchedule(i: ScheduleInput): ScheduleDecision {
  const s = i.settings;
  if (s.schedule === 'off') return { kind: 'no', why: 'training is off (hindsight.training.schedule)' };
  if (s.schedule === 'manual') return { kind: 'no', why: 'manual schedule: run "Hindsight: Train now"' };
  if (i.busy) return { kind: 'no', why: 'a round is running' };
  // Rounds the developer did not ask for stay short on this machine; "Train now" still runs them.
  const limitMs = s.maxRoundMinutes * 60_000;
  if (limitMs > 0 && i.estimatedMs !== undefined && i.estimatedMs > limitMs)
    return { kind: 'no', why: `a round would take about ${Math.round(i.estimatedMs / 60_000)} min on this machine, over hindsight.training.maxRoundMinutes (${s.maxRoundMinutes}); "Train now" runs one anyway` };
  if (s.schedule === 'continuous') {
    return i.pending >= s.minEpisodes ? { kind: 'train' } : { kind: 'no', why: `${i.pending} of ${s.minEpisodes} episodes pending` };
  }
  // 'idle': a full batch, and the editor quiet for idleSeconds (no new suggestion shown).
  if (i.pending < s.batchSize) return { kind: 'no', why: `${i.pending} of ${s.batchSize} episodes pending` };
  const left = s.idleSeconds * 1000 - i.idleMs;
  return left <= 0 ? { kind: 'train' } : { kind: 'wait', ms: left };
}
