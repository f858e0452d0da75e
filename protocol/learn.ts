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
  /** Promotion gate (OpenClaw-RL rules): largest mean |Δ log-prob| per token against the base model on held-out episodes. */
  maxDrift?: number;
  /** Automatic schedules: a round estimated (from the last one on this machine) to take longer than this many minutes is not started; 0 = no limit. */
  maxRoundMinutes?: number;
  /** Promotion gate: largest relative increase of held-out code bits per byte over the base model (0.02 = 2 %). */
  maxBpbRegression?: number;
  /** Retention: after a promotion, adapter versions older than the newest this many are deleted (the serving one and its parent always stay); 0 = keep all. */
  keepVersions?: number;
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
  /** 'cancelled': stopped from the editor; nothing changed (the previous adapter, if any, keeps serving). */
  outcome: 'promoted' | 'rejected' | 'failed' | 'cancelled';
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
  /** Gate on the goal: held-out episodes showing the developer's own text, and those where it replaced a suggestion (pairs). */
  heldOutEpisodes?: number;
  heldOutPairs?: number;
  /** How many pairs rank the developer's text above the suggestion: serving adapter, candidate. */
  winsBefore?: number;
  winsAfter?: number;
  /** Mean margin Σ log π(developer's text) − Σ log π(suggestion) over the pairs (nats): serving adapter, candidate. */
  marginBefore?: number;
  marginAfter?: number;
  /** Mean log π per token of the developer's held-out texts (nats): serving adapter, candidate. */
  targetBefore?: number;
  targetAfter?: number;
  /** Earlier rounds' pairs replayed in this round (not held out, but not to be unlearned): count, mean margin before and after. */
  earlierPairs?: number;
  earlierMarginBefore?: number;
  earlierMarginAfter?: number;
  /** Held-out code bits per byte under the candidate relative to the base model (0.01 = 1 % worse). */
  bpbRegression?: number;
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
  /** When the round running now started (ms since epoch). */
  roundStartedAt?: number;
  /** Estimated time left in the round running now (ms), once there is something to measure. */
  etaMs?: number;
  /** A cancel was asked for and the round stops at its next step. */
  cancelling?: boolean;
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

export interface CancelResult {
  /** False when no round was running. */
  cancelled: boolean;
}
/** Stops the running round at its next step; nothing it computed is kept. */
export const cancel = new RequestType0<CancelResult, void>('learn/cancel');

export interface ForgetResult {
  /** Adapter versions deleted (their numbers). */
  versions: number[];
  /** Whether the loop's memory (learn/state.json) existed and was deleted. */
  state: boolean;
  /** Bytes deleted under adapters/ and learn/. */
  bytes: number;
}
/**
 * Deletes what training derived from this workspace: every adapter version and the loop's memory.
 * A running round is cancelled first, serving returns to the base model, and the loop starts afresh.
 */
export const forget = new RequestType0<ForgetResult, void>('learn/forget');

/** Pushed on every change of the loop's status (state, progress, versions, pending). */
export const statusChanged = new NotificationType<StatusResult>('learn/statusChanged');

/**
 * "Export adapter for llama.cpp / Ollama…": an adapter version as GGUF files llama.cpp-based tools
 * load. 'adapter': the LoRA (GGUF) and the base model it applies to (GGUF); 'merged': one model
 * file with the adapter merged in. Written in a worker thread; progress comes as exportProgress.
 */
export interface ExportGgufParams {
  /** An existing folder to write into (absolute path). */
  destDir: string;
  kind: 'adapter' | 'merged';
  /** Adapter version; default the serving one. 0 = the base model alone. */
  version?: number;
  /** Weights of the model file: 'f16' (default), 'q4_0' (4-bit, smaller and faster on a CPU) or 'f32'. */
  weights?: 'f32' | 'f16' | 'q4_0';
}
export interface ExportGgufResult {
  version: number;
  files: { path: string; bytes: number; what: string }[];
}
export const exportGguf = new RequestType<ExportGgufParams, ExportGgufResult, void>('learn/exportGguf');
export interface ExportProgress {
  what: string;
  fraction: number;
}
export const exportProgress = new NotificationType<ExportProgress>('learn/exportProgress');
