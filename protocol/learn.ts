// learn/*: the learning loop (server/learn/): its status, "train now", adapter versions and
// rollback, and the settings (hindsight.training.*) the editor sends. Training runs in the trainer
// process only while recording is enabled (opted in + trusted); nothing here starts it otherwise.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';

export type Schedule = 'off' | 'manual' | 'idle' | 'continuous';

/** hindsight.training.* as the editor reads them; every field optional (server defaults apply). */
export interface Settings {
  schedule?: Schedule;
  /** Episodes per training round (OpenClaw-RL: 16). */
  batchSize?: number;
  /** A round needs at least this many usable episodes (trainNow too). */
  minEpisodes?: number;
  /** 'idle' schedule: seconds without a new suggestion before a round may start. */
  idleSeconds?: number;
  /** Optimizer steps per round. */
  stepsPerRound?: number;
  learningRate?: number;
  /** Episodes generated more than this many adapter versions ago are skipped. */
  maxStaleness?: number;
  /** Promotion gate: largest mean |Δ log-prob| per token against the base model on held-out episodes. */
  maxDrift?: number;
}

export type LoopState = 'off' | 'starting' | 'idle' | 'training' | 'evaluating' | 'error';

export interface VersionInfo {
  /** 0 = the base model (no adapter). */
  version: number;
  createdAt?: number;
  /** The version it was trained from. */
  parent?: number;
  /** Episodes in the round that produced it. */
  episodes?: number;
  loss?: number;
  drift?: number;
  /** False when the folder failed validation (corrupt, wrong model); it is never served. */
  valid: boolean;
  problem?: string;
}

export interface RoundReport {
  at: number;
  outcome: 'promoted' | 'rejected' | 'failed';
  /** The new version when promoted. */
  version?: number;
  /** Why it was rejected or failed. */
  reason?: string;
  episodes: number;
  /** Largest |serving version − episode adapterVersion| in the batch (off-policy distance). */
  maxStaleness?: number;
  steps: number;
  lossBefore?: number;
  lossAfter?: number;
  /** Mean |Δ log-prob| per held-out token against the base model. */
  drift?: number;
  /** Mean per-token log-prob change of the batch's preferred responses (candidate − previous). */
  preferredDelta?: number;
  ms: number;
}

export interface StatusResult {
  state: LoopState;
  /** Why the loop is off or in error ('recording is off', 'no model configured', …). */
  detail?: string;
  schedule: Schedule;
  /** Adapter version serving now (0 = base). */
  serving: number;
  versions: VersionInfo[];
  /** Settled, trainable episodes not yet used in a round. */
  pending: number;
  /** Progress of the round running now. */
  step?: number;
  steps?: number;
  loss?: number;
  lastRound?: RoundReport;
  lastPromotion?: RoundReport;
  /** Episodes that will never be trained on, by reason ('redacted', 'stale', 'other model', …). */
  skipped: Record<string, number>;
  /** Episodes used in rounds so far. */
  trained: number;
}

export const status = new RequestType0<StatusResult, void>('learn/status');

export interface TrainNowResult {
  /** False with a reason when no round could start (too few episodes, recording off, busy). */
  started: boolean;
  reason?: string;
  /** The round's report once it ended (trainNow waits for it). */
  report?: RoundReport;
}
export const trainNow = new RequestType0<TrainNowResult, void>('learn/trainNow');

export interface RollbackParams {
  /** Version to serve (0 = base); default: the valid version before the one serving now. */
  version?: number;
}
export interface RollbackResult {
  from: number;
  to: number;
}
export const rollback = new RequestType<RollbackParams, RollbackResult, void>('learn/rollback');

export const versions = new RequestType0<VersionInfo[], void>('learn/versions');

export const configure = new RequestType<Settings, StatusResult, void>('learn/configure');

/** Pushed on every change of the loop's status (state, progress, versions, pending). */
export const statusChanged = new NotificationType<StatusResult>('learn/statusChanged');
