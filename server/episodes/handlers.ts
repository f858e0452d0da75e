// episodes/* request handlers: open this workspace's store after initialize, refuse every write
// unless recording is enabled (opted in + trusted), make an episode from what the editor showed and
// serving's generation record (shown.ts), redact before writing (the store does),
// close episodes the editor stopped following (expiry, every few minutes), and push debounced
// count updates for the status view. Leaves out judging and training reads,
// which use the store directly in-process.
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc';
import { ErrorCodes, episodes } from '../../protocol';
import type { ServerContext } from '../context';
import { EpisodeStore } from './store';
import type { GenerationLookup } from '../serve/generation';
import { episodeOf } from './shown';

/** How often open episodes are checked for expiry (EpisodeStore.expireStale). */
const EXPIRY_CHECK_MS = 5 * 60_000;

export interface EpisodesArea {
  /** The open store (undefined before initialize or when the storage folder is unusable). */
  store(): EpisodeStore | undefined;
  /** Resolves once the store opened after initialize (or failed to: then undefined). */
  opened(): Promise<EpisodeStore | undefined>;
}

/** `generations`: serving's records of the suggestions it generated (server/serve/generation.ts). */
export function registerEpisodesHandlers(connection: MessageConnection, ctx: ServerContext, generations: GenerationLookup): EpisodesArea {
  let store: EpisodeStore | undefined;
  let opening: Promise<void> | undefined;
  let openError: string | undefined;
  let maxBytes: number | undefined;
  let pushTimer: NodeJS.Timeout | undefined;
  let expiryTimer: NodeJS.Timeout | undefined;

  const open = async () => {
    if (!ctx.storageDir) return;
    try {
      store = await EpisodeStore.open(ctx.storageDir, { maxBytes, log: (level, message) => ctx.log(level, message) });
      openError = undefined;
      const c = store.counts();
      ctx.log('info', `episode store: ${c.total} episode(s), ${store.bytes} bytes in ${store.dir}${store.replayIssues.length ? `; ${store.replayIssues.length} replay issue(s)` : ''}`);
      // Episodes the editor stops following while this process runs (a window reloaded) expire too.
      expiryTimer = setInterval(() => void expire(), EXPIRY_CHECK_MS);
      expiryTimer.unref();
    } catch (err) {
      openError = `episode store could not be opened in ${ctx.storageDir}: ${(err as Error).message}`;
      ctx.log('error', openError);
    }
  };
  ctx.onInitialized(() => (opening = open()));
  const expire = async () => {
    const n = await store?.expireStale().catch((e) => (ctx.log('warn', `episode store: expiring open episodes failed: ${(e as Error).message}`), 0));
    if (n) {
      ctx.log('info', `episode store: ${n} episode(s) no longer followed by the editor closed as expired`);
      changed();
    }
  };
  ctx.onShutdown(async () => {
    if (pushTimer) clearTimeout(pushTimer);
    if (expiryTimer) clearInterval(expiryTimer);
    await opening;
    await store?.close();
  });

  const ready = async (): Promise<EpisodeStore> => {
    ctx.requireInitialized();
    await opening;
    if (!store) throw new ResponseError(ErrorCodes.StoreFailure, openError ?? 'episode store is not open (no storage folder was given)');
    return store;
  };

  const countsResult = (s: EpisodeStore): episodes.CountsResult => ({
    counts: s.counts(),
    recordingEnabled: ctx.recordingEnabled,
    bytes: s.bytes,
    maxBytes: s.budget,
    replayIssues: s.replayIssues.map((i) => `${i.kind} at byte ${i.offset}: ${i.detail}`),
  });

  const changed = () => {
    if (pushTimer) return;
    pushTimer = setTimeout(() => {
      pushTimer = undefined;
      if (store) void connection.sendNotification(episodes.countsChanged, countsResult(store)).catch(() => undefined);
    }, 300);
  };

  const refuse = (): episodes.StoreAck => ({ stored: false, reason: 'recording is off (not opted in, or the workspace is not trusted): nothing was stored' });

  connection.onRequest(episodes.append, async (p) => {
    const s = await ready();
    if (!ctx.recordingEnabled) return refuse();
    const made = episodeOf(p.shown, generations);
    if ('reason' in made) return { stored: false, reason: made.reason };
    try {
      const ack = await s.appendEpisode(made.episode);
      if (ack.stored) changed();
      return ack;
    } catch (err) {
      throw new ResponseError(ErrorCodes.StoreFailure, `could not store episode: ${(err as Error).message}`);
    }
  });

  connection.onRequest(episodes.event, async (p) => {
    const s = await ready();
    if (!ctx.recordingEnabled) return refuse();
    try {
      const ack = await s.appendEvent(p.id, p.event);
      if (ack.stored) changed();
      return ack;
    } catch (err) {
      throw new ResponseError(ErrorCodes.StoreFailure, `could not store event: ${(err as Error).message}`);
    }
  });

  connection.onRequest(episodes.query, async (p) => (await ready()).query(p ?? {}));
  connection.onRequest(episodes.counts, async () => countsResult(await ready()));

  connection.onRequest(episodes.exportJsonl, async (p) => {
    const s = await ready();
    if (!p?.path) throw new ResponseError(ErrorCodes.InvalidParams, 'episodes/export needs an absolute `path` for the JSONL file');
    return { path: p.path, episodes: await s.exportJsonl(p.path) };
  });

  connection.onRequest(episodes.forget, async () => {
    const s = await ready();
    generations.clear();
    const r = await s.forget();
    ctx.log('info', `forgot workspace data: ${r.deletedEpisodes} episode(s), ${r.deletedBytes} bytes deleted from ${s.dir}`);
    changed();
    return r;
  });

  connection.onRequest(episodes.settings, async (p) => {
    if (p?.maxMB !== undefined) {
      if (!(typeof p.maxMB === 'number' && p.maxMB > 0)) throw new ResponseError(ErrorCodes.InvalidParams, `hindsight.storage.maxMB must be a positive number (got ${p.maxMB})`);
      maxBytes = p.maxMB * 1024 * 1024;
    }
    const s = await ready();
    if (maxBytes !== undefined) s.setMaxBytes(maxBytes);
    if (s.bytes > s.budget) await s.compact();
    return countsResult(s);
  });

  return {
    store: () => store,
    opened: async () => {
      await opening;
      return store;
    },
  };
}
