// The durable episode store of one workspace: an append-only RecordLog (framed, CRC'd, fsync'd
// before ack) at <storageDir>/episodes/episodes.log, folded into episode views in memory.
// Secrets are redacted before anything is written; a storage budget triggers oldest-first
// compaction (an atomic rewrite queued behind the appends, see log.ts); episodes the editor stopped
// following are closed as expired. Leaves out consent: callers check ctx.recordingEnabled.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { episodes } from '../../protocol';
import { RecordLog, type ReplayIssue } from './log';
import { applyEvent, countViews, newView } from './fold';
import { redactDeep } from './redact';

type Episode = episodes.Episode;
type EpisodeEvent = episodes.EpisodeEvent;
type EpisodeView = episodes.EpisodeView;

/** What goes in the log: one record per episode, then one per event. */
export type LogRecord = { t: 'episode'; ep: Episode } | { t: 'event'; id: string; ev: EpisodeEvent };

export interface StoreOptions {
  /** Budget for the log in bytes (hindsight.storage.maxMB; default 200 MB). */
  maxBytes?: number;
  /** Compaction keeps the newest episodes up to this share of the budget (default 0.8). */
  compactTo?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Caps each write() call (tests only: makes a SIGKILL mid-record likely). */
  chunkBytes?: number;
  /** An open episode with no event for this long is closed (default 30 min; see expireStale). */
  expireAfterMs?: number;
  now?: () => number;
}

export const DEFAULT_MAX_BYTES = 200 * 1024 * 1024;
/**
 * Longer than any window the editor follows an episode through without an event (the survival
 * checkpoints are at most 5 min apart, the last at 10 min; typed-instead is read after 30 s).
 */
export const DEFAULT_EXPIRE_AFTER_MS = 30 * 60_000;
const EVENT_TYPES = new Set(['accepted', 'rejected', 'notShown', 'typedInstead', 'survival', 'diagnostic', 'testOutcome', 'commit', 'correction', 'closed']);

export class EpisodeStore {
  private readonly views = new Map<string, EpisodeView>();
  /** Bytes each episode occupies in the log (its records), for compaction. */
  private readonly sizes = new Map<string, number>();
  private maxBytes: number;
  private compacting: Promise<void> | undefined;
  private readonly listeners = new Set<(view: EpisodeView) => void>();
  readonly replayIssues: ReplayIssue[];

  private constructor(private log: RecordLog<LogRecord>, readonly dir: string, issues: ReplayIssue[], private readonly opts: StoreOptions) {
    this.replayIssues = issues;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  static fileIn(storageDir: string): string {
    return path.join(storageDir, 'episodes', 'episodes.log');
  }

  static async open(storageDir: string, opts: StoreOptions = {}): Promise<EpisodeStore> {
    const file = EpisodeStore.fileIn(storageDir);
    const { log, replay } = await RecordLog.open<LogRecord>(file, { chunkBytes: opts.chunkBytes });
    const store = new EpisodeStore(log, path.dirname(file), replay.issues, opts);
    let orphans = 0;
    for (const { value, bytes } of replay.records) {
      if (!store.fold(value, bytes)) orphans++;
    }
    for (const issue of replay.issues) opts.log?.('warn', `episode log ${file}: ${issue.detail} at byte ${issue.offset}`);
    if (orphans) opts.log?.('warn', `episode log ${file}: ${orphans} event record(s) without their episode were ignored`);
    const expired = await store.expireStale();
    if (expired) opts.log?.('info', `episode store: ${expired} episode(s) left open by an earlier session closed as expired`);
    return store;
  }

  private fold(rec: LogRecord, bytes: number): boolean {
    if (rec && rec.t === 'episode' && rec.ep && typeof rec.ep.id === 'string') {
      if (!this.views.has(rec.ep.id)) this.views.set(rec.ep.id, newView(rec.ep));
      this.sizes.set(rec.ep.id, (this.sizes.get(rec.ep.id) ?? 0) + bytes);
      return true;
    }
    if (rec && rec.t === 'event' && rec.ev && EVENT_TYPES.has(rec.ev.type) && typeof rec.ev.at === 'number') {
      const v = this.views.get(rec.id);
      if (!v) return false;
      applyEvent(v, rec.ev);
      this.sizes.set(rec.id, (this.sizes.get(rec.id) ?? 0) + bytes);
      return true;
    }
    return false;
  }

  setMaxBytes(maxBytes: number): void {
    this.maxBytes = Math.max(1024 * 1024, maxBytes);
  }

  get bytes(): number {
    return this.log.bytes;
  }

  get budget(): number {
    return this.maxBytes;
  }

  /** Redacts, appends and fsyncs the episode; resolves once it is durable. Idempotent per id. */
  async appendEpisode(input: Episode): Promise<{ stored: boolean; reason?: string }> {
    const problem = validateEpisode(input);
    if (problem) return { stored: false, reason: problem };
    if (this.views.has(input.id)) return { stored: true, reason: 'already stored' };
    const ep = redactEpisode(knownMembers(input));
    const rec: LogRecord = { t: 'episode', ep };
    // Folded when durable, in log order, so a compaction queued behind it carries it over.
    await this.log.append(rec, (_, bytes) => this.fold(rec, bytes));
    this.emit(ep.id);
    await this.maybeCompact();
    return { stored: true };
  }

  async appendEvent(id: string, input: EpisodeEvent): Promise<{ stored: boolean; reason?: string }> {
    if (!this.views.has(id)) return { stored: false, reason: `unknown episode ${id} (not recorded, forgotten or compacted away)` };
    if (!input || !EVENT_TYPES.has(input.type) || typeof input.at !== 'number') return { stored: false, reason: `invalid event ${JSON.stringify(input)?.slice(0, 200)}` };
    const ev = redactDeep(input).value;
    const rec: LogRecord = { t: 'event', id, ev };
    let folded = false;
    await this.log.append(rec, (_, bytes) => (folded = this.fold(rec, bytes)));
    // A compaction between the check above and the write dropped the episode (oldest first).
    if (!folded) return { stored: false, reason: `episode ${id} was compacted away while its event was written` };
    this.emit(id);
    await this.maybeCompact();
    return { stored: true };
  }

  /**
   * Closes open episodes with no event for expireAfterMs: the editor that followed them is gone
   * (shut down, reloaded, crashed), so nothing else will settle them. Closed, they are judged on
   * what was seen (trained on, or skipped with a counted reason) instead of waiting forever.
   * Runs when the store opens; the episodes area also runs it periodically. Returns how many.
   */
  async expireStale(): Promise<number> {
    const now = (this.opts.now ?? Date.now)();
    const after = this.opts.expireAfterMs ?? DEFAULT_EXPIRE_AFTER_MS;
    const stale = [...this.views.values()].filter((v) => v.status === 'open' && now - v.updatedAt >= after);
    const reason = `expired: no event for ${Math.round(after / 60_000)} min; the editor stopped following it`;
    const acks = await Promise.all(stale.map((v) => this.appendEvent(v.id, { type: 'closed', at: now, reason })));
    return acks.filter((a) => a.stored).length;
  }

  /**
   * Called after each durable append with the episode's updated view (e.g. the trainer waits for
   * status 'complete'). Returns an unsubscribe function. Listener errors are swallowed.
   */
  onChange(listener: (view: EpisodeView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(id: string): void {
    const v = this.views.get(id);
    if (!v) return;
    for (const l of this.listeners) {
      try {
        l(v);
      } catch {
        /* a listener's bug must not fail the append that was already acknowledged */
      }
    }
  }

  get(id: string): EpisodeView | undefined {
    return this.views.get(id);
  }

  query(q: episodes.QueryParams = {}): episodes.QueryResult {
    let list: EpisodeView[];
    if (q.id !== undefined) list = this.views.has(q.id) ? [this.views.get(q.id)!] : [];
    else list = [...this.views.values()];
    list = list.filter(
      (v) =>
        (q.since === undefined || v.createdAt >= q.since) &&
        (q.until === undefined || v.createdAt <= q.until) &&
        (q.status === undefined || v.status === q.status) &&
        (q.outcome === undefined || v.outcome === q.outcome),
    );
    list.sort((a, b) => b.createdAt - a.createdAt);
    const total = list.length;
    return { episodes: list.slice(0, q.limit ?? 100), total };
  }

  counts(): episodes.Counts {
    return countViews(this.views.values());
  }

  /** Writes every episode view as one JSON line, oldest first (temp file + rename). */
  async exportJsonl(file: string): Promise<number> {
    const list = [...this.views.values()].sort((a, b) => a.createdAt - b.createdAt);
    const tmp = file + '.tmp';
    await fsp.writeFile(tmp, list.map((v) => JSON.stringify(v)).join('\n') + (list.length ? '\n' : ''), 'utf8');
    await fsp.rename(tmp, file);
    return list.length;
  }

  /** Deletes everything recorded for this workspace and starts an empty log. */
  async forget(): Promise<{ deletedEpisodes: number; deletedBytes: number }> {
    const deletedEpisodes = this.views.size;
    const deletedBytes = this.log.bytes;
    await this.log.close();
    await fsp.rm(this.dir, { recursive: true, force: true });
    this.views.clear();
    this.sizes.clear();
    this.replayIssues.length = 0;
    this.log = (await RecordLog.open<LogRecord>(path.join(this.dir, 'episodes.log'))).log;
    return { deletedEpisodes, deletedBytes };
  }

  /** Closes once every queued append and compaction is done. */
  async close(): Promise<void> {
    await this.log.close();
  }

  /** Oldest-first compaction when over budget: keep the newest episodes within compactTo x budget. */
  private async maybeCompact(): Promise<void> {
    if (this.log.bytes <= this.maxBytes || this.compacting) return;
    this.compacting = this.compact().finally(() => (this.compacting = undefined));
    await this.compacting;
  }

  /**
   * Rewrites the log with the newest episodes within compactTo x budget. Queued behind the appends
   * already issued, and planned only when they are durable: it keeps what they acknowledged, and
   * appends issued meanwhile land in the new file.
   */
  async compact(): Promise<void> {
    let dropped = 0;
    let before = 0;
    await this.log.rewrite(() => {
      before = this.log.bytes;
      this.opts.log?.('info', `episode store compacting: ${before} bytes (budget ${this.maxBytes})`);
      const keep = this.planCompaction();
      dropped = this.views.size - keep.length;
      const keepIds = new Set(keep.map((v) => v.id));
      for (const id of [...this.views.keys()])
        if (!keepIds.has(id)) {
          this.views.delete(id);
          this.sizes.delete(id);
        }
      return (function* (): Generator<LogRecord> {
        for (const v of keep) {
          yield { t: 'episode', ep: episodeOf(v) };
          for (const ev of v.events) yield { t: 'event', id: v.id, ev };
        }
      })();
    });
    this.opts.log?.('info', `episode store compacted: dropped ${dropped} oldest episode(s), ${before} -> ${this.log.bytes} bytes (budget ${this.maxBytes})`);
  }

  /** The newest episodes within the target size (at least one), oldest first. */
  private planCompaction(): EpisodeView[] {
    const target = this.maxBytes * (this.opts.compactTo ?? 0.8);
    const newestFirst = [...this.views.values()].sort((a, b) => b.createdAt - a.createdAt);
    let kept = 0;
    const keep: EpisodeView[] = [];
    for (const v of newestFirst) {
      const size = this.sizes.get(v.id) ?? 0;
      if (kept + size > target && keep.length > 0) break;
      kept += size;
      keep.push(v);
    }
    return keep.reverse();
  }
}

/** The stored episode part of a view (drops the folded fields). */
function episodeOf(v: EpisodeView): Episode {
  const { outcome: _o, status: _s, survival: _v, updatedAt: _u, events: _e, ...ep } = v;
  return ep;
}

/** Every member of an Episode: only these are stored (a client's extra members are dropped, not kept on disk). */
const EPISODE_KEYS = ['id', 'completionId', 'createdAt', 'uri', 'relPath', 'languageId', 'offset', 'line', 'prefixExcerpt', 'suffixExcerpt', 'suggestion', 'tokenIds', 'logprobs', 'promptTokenIds', 'healed', 'adapterVersion', 'model', 'mode', 'redacted'] as const;
// A member added to Episode but not listed above fails to compile here.
const allListed: Exclude<keyof Episode, (typeof EPISODE_KEYS)[number]> extends never ? true : never = true;
void allListed;

function knownMembers(ep: Episode): Episode {
  const out: Record<string, unknown> = {};
  for (const k of EPISODE_KEYS) if (Object.hasOwn(ep, k) && ep[k] !== undefined) out[k] = ep[k];
  return out as unknown as Episode;
}

function validateEpisode(ep: Episode): string | undefined {
  if (!ep || typeof ep !== 'object') return 'episode missing';
  if (typeof ep.id !== 'string' || ep.id.length === 0 || ep.id.length > 200) return 'episode.id must be a non-empty string';
  if (typeof ep.createdAt !== 'number') return 'episode.createdAt must be epoch ms';
  if (typeof ep.suggestion !== 'string') return 'episode.suggestion must be a string';
  if (ep.healed !== undefined && typeof ep.healed !== 'string') return 'episode.healed must be a string when present';
  if (!Array.isArray(ep.tokenIds) || !Array.isArray(ep.logprobs) || ep.tokenIds.length !== ep.logprobs.length)
    return `episode.tokenIds and episode.logprobs must be arrays of equal length (got ${ep.tokenIds?.length} and ${ep.logprobs?.length})`;
  return undefined;
}

/**
 * Redacts every text field. Token ids of redacted text would still spell the secret, so they
 * are dropped: the suggestion's tokens/log-probs when the suggestion changed, the prompt's when
 * the prefix or suffix changed. The trainer re-tokenises from the redacted text.
 */
export function redactEpisode(ep: Episode): Episode {
  const { value, found } = redactDeep({ ...ep, tokenIds: [], logprobs: [], promptTokenIds: [] });
  if (found.length === 0) return ep;
  const out: Episode = { ...value, redacted: true };
  const spelt = value.suggestion === ep.suggestion && value.healed === ep.healed; // the ids spell healed + suggestion
  out.tokenIds = spelt ? ep.tokenIds : [];
  out.logprobs = spelt ? ep.logprobs : [];
  out.promptTokenIds = value.prefixExcerpt === ep.prefixExcerpt && value.suffixExcerpt === ep.suffixExcerpt ? ep.promptTokenIds : [];
  return out;
}
