// episodes/*: the durable record of each suggestion (an episode) and the next-state events that
// follow it (DESIGN §2). The editor says what it showed (Shown) and what happened next; the
// trainer joins a Shown with its own generation record into the Episode it stores (server/episodes/) and the judge
// and trainer read. Storage is an event log: one `episode` record, then `event` records, folded
// into an EpisodeView on read. Nothing is stored unless recording is enabled (opted in + trusted).
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';

/**
 * What the editor saw when it showed a suggestion. Everything else about the generation (prompt,
 * token ids, log-probs, model, adapter version) stays in the trainer, named by `completionId`.
 */
export interface Shown {
  /** The episode id, chosen by the editor when it shows the suggestion, so its accept command can name it. */
  id: string;
  /** serve.CompleteResult.completionId of the generation shown (a cache hit shows the same one again). */
  completionId: string;
  createdAt: number;
  /** Document URI and workspace-relative path ('' outside a folder). */
  uri: string;
  relPath: string;
  /** Cursor offset and 0-based line where the suggestion was shown. */
  offset: number;
  line: number;
  /** The suggestion as shown: must be the generation's text. */
  suggestion: string;
}

/** One shown suggestion and the context it was generated from, as stored. Times are epoch ms. */
export interface Episode {
  /** Chosen by the editor when the suggestion is made, so its accept command can name it. */
  id: string;
  /** The generation it showed (several episodes may show one generation: the editor's cache). */
  completionId?: string;
  createdAt: number;
  /** Document URI and workspace-relative path ('' outside a folder). */
  uri: string;
  relPath: string;
  languageId: string;
  /** Cursor offset and 0-based line where the suggestion was shown. */
  offset: number;
  line: number;
  /** Text around the cursor, trimmed (redacted before storage). */
  prefixExcerpt: string;
  suffixExcerpt: string;
  /** The suggestion as shown. */
  suggestion: string;
  /** Generated token ids and their behaviour log-probs, one per token (from the trainer's generation record). */
  tokenIds: number[];
  logprobs: number[];
  /** Prompt token ids the suggestion came from (dropped when redaction changed the prompt text). */
  promptTokenIds: number[];
  /** The end of the prefix the token ids re-spell (token healing): decode(tokenIds) === healed + suggestion. */
  healed?: string;
  adapterVersion: number;
  model: string;
  mode?: 'line' | 'block';
  /** Set by the store when secrets were redacted; token arrays of redacted text are then dropped. */
  redacted?: boolean;
}

export type SurvivalStatus = 'unchanged' | 'edited' | 'deleted' | 'unknown';
export type TestOutcome = 'pass' | 'fail' | 'unknown';

/** Next-state events; `at` is epoch ms. */
export type EpisodeEvent =
  /** Accepted: by the item's command (Tab), by typing all of it, or partly (accept-word, typed prefix). */
  | { type: 'accepted'; at: number; how: 'command' | 'typed' | 'partial'; acceptedText: string; start: number; end: number }
  /** Shown >= minDisplayMs and not accepted (timeout, typed something else, cursor left, replaced). */
  | { type: 'rejected'; at: number; reason: 'timeout' | 'diverged' | 'cursorMoved' | 'superseded' | 'closed'; visibleMs: number }
  /** Hidden before minDisplayMs: not counted as shown (reward 0). */
  | { type: 'notShown'; at: number; visibleMs: number }
  /** What the developer wrote at the spot, typedInsteadAfterMs after a rejection ('' = nothing). */
  | { type: 'typedInstead'; at: number; text: string }
  /** Survival check after acceptance; `final` marks the last checkpoint. */
  | { type: 'survival'; at: number; afterMs: number; status: SurvivalStatus; distance: number; retained: number; currentText?: string; final: boolean }
  /** A diagnostic that appeared in (inRange) or near the inserted range. */
  | { type: 'diagnostic'; at: number; severity: 'error' | 'warning'; message: string; code?: string; source?: string; line: number; inRange: boolean }
  /** A test/build command or task that ended while the episode's code was live in a touched file. */
  | { type: 'testOutcome'; at: number; source: 'terminal' | 'task'; kind: 'test' | 'build'; commandLine: string; exitCode: number | null; outcome: TestOutcome; outputExcerpt?: string }
  /** Inserted code found (or not) in a commit. */
  | { type: 'commit'; at: number; commit: string; survived: boolean; retained: number }
  /** "Hindsight: Correct this…" — a free-text directive hint from the developer. */
  | { type: 'correction'; at: number; directive: string; selection?: string }
  /** The editor stopped following the episode (document closed, window reloaded). */
  | { type: 'closed'; at: number; reason: string };

export type EpisodeEventType = EpisodeEvent['type'];

/** Decision on the suggestion itself. */
export type EpisodeOutcome = 'pending' | 'accepted' | 'partial' | 'rejected' | 'notShown';
/** open = the next state is still being observed; complete = settled. */
export type EpisodeStatus = 'open' | 'complete';

export interface EpisodeView extends Episode {
  outcome: EpisodeOutcome;
  status: EpisodeStatus;
  /** Latest survival status after acceptance, if any. */
  survival?: SurvivalStatus;
  updatedAt: number;
  events: EpisodeEvent[];
}

// ---- requests ----------------------------------------------------------------------------

export interface StoreAck {
  /** True once the record is on disk (fsync'd). False with a reason when not stored. */
  stored: boolean;
  reason?: string;
}

export interface AppendParams {
  shown: Shown;
}
export const append = new RequestType<AppendParams, StoreAck, void>('episodes/append');

export interface EventParams {
  id: string;
  event: EpisodeEvent;
}
export const event = new RequestType<EventParams, StoreAck, void>('episodes/event');

export interface QueryParams {
  id?: string;
  /** createdAt range, epoch ms, inclusive. */
  since?: number;
  until?: number;
  status?: EpisodeStatus;
  outcome?: EpisodeOutcome;
  /** Newest first; default 100. */
  limit?: number;
}
export interface QueryResult {
  episodes: EpisodeView[];
  /** How many matched before `limit`. */
  total: number;
}
export const query = new RequestType<QueryParams, QueryResult, void>('episodes/query');

export interface Counts {
  total: number;
  open: number;
  complete: number;
  byOutcome: Record<EpisodeOutcome, number>;
  /** Latest survival of accepted/partial episodes. */
  bySurvival: Record<SurvivalStatus, number>;
  withDiagnostics: number;
  testPass: number;
  testFail: number;
  committed: number;
  corrected: number;
}
export interface CountsResult {
  counts: Counts;
  recordingEnabled: boolean;
  /** Bytes on disk and the budget (hindsight.storage.maxMB). */
  bytes: number;
  maxBytes: number;
  /** Problems found when the log was replayed (torn tail, corrupt records), for the status view. */
  replayIssues: string[];
}
export const counts = new RequestType0<CountsResult, void>('episodes/counts');

export interface ExportParams {
  /** Absolute path of the JSONL file to write (one EpisodeView per line). */
  path: string;
}
export interface ExportResult {
  path: string;
  episodes: number;
}
export const exportJsonl = new RequestType<ExportParams, ExportResult, void>('episodes/export');

export interface ForgetResult {
  deletedEpisodes: number;
  deletedBytes: number;
}
export const forget = new RequestType0<ForgetResult, void>('episodes/forget');

export interface SettingsParams {
  /** Storage budget in MB (hindsight.storage.maxMB, default 200). */
  maxMB?: number;
}
export const settings = new RequestType<SettingsParams, CountsResult, void>('episodes/settings');

/** Pushed (debounced) after the store changed, so the status view needs no polling. */
export const countsChanged = new NotificationType<CountsResult>('episodes/countsChanged');
