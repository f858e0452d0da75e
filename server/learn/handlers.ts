// learn/* request handlers: run the learning loop only while recording is enabled (opted in +
// trusted) and a model folder is configured, restart it when either changes, show 'training' in the
// trainer state while a round runs, and push learn/statusChanged. learn/cancel stops a running
// round; learn/forget deletes every adapter and the loop's memory (forget.ts) and starts afresh;
// learn/exportGguf writes an adapter version as GGUF files for llama.cpp-based tools (server/export/).
// Leaves out the loop (loop.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc';
import { ErrorCodes, learn } from '../../protocol';
import type { ServerContext } from '../context';
import type { EpisodesArea } from '../episodes/handlers';
import type { ServeArea } from '../serve/handlers';
import { LearnLoop } from './loop';
import { DEFAULT_SETTINGS, mergeSettings, type LearnSettings } from './schedule';
import { forgetLearningData } from './forget';
import { AdapterStore } from '../train/adapterStore';
import { exportInWorker } from '../export/run';

export interface LearnArea {
  loop(): LearnLoop | undefined;
  /** Resolves when the current start attempt ends (tests). */
  ready(): Promise<LearnLoop | undefined>;
}

/** Restarts of a training worker that stopped by itself, within the window, before giving up. */
const RESTARTS = 3;
const RESTART_WINDOW_MS = 10 * 60_000;
const RESTART_DELAY_MS = 1000;

/** The areas the loop uses: the episode store it reads, and serving, where it swaps adapters in. */
export interface LearnDeps {
  episodes: EpisodesArea;
  serving: ServeArea;
}

export function registerLearnHandlers(connection: MessageConnection, ctx: ServerContext, deps: LearnDeps): LearnArea {
  let settings: LearnSettings = { ...DEFAULT_SETTINGS };
  let loop: LearnLoop | undefined;
  let starting: Promise<LearnLoop | undefined> = Promise.resolve(undefined);
  let key = '';
  let why: string | undefined = 'not initialised';

  // No loop and no reason it is off: it is (re)starting (after a change or a forget).
  const offStatus = (): learn.StatusResult => ({ state: why === undefined ? 'starting' : 'off', ...(why ? { detail: why } : {}), schedule: settings.schedule, serving: ctx.status().adapterVersion, versions: [], pending: 0, skipped: {}, trained: 0 });
  const status = () => loop?.status() ?? offStatus();
  const push = (s: learn.StatusResult) => void connection.sendNotification(learn.statusChanged, s).catch(() => undefined);

  const onBusy = (busy: boolean) => {
    const now = ctx.status().state;
    if (busy && now === 'ready') ctx.setState('training');
    else if (!busy && now === 'training') ctx.setState('ready');
  };

  // A training worker that stops by itself (out of memory, a crash in onnxruntime) is started again
  // with a new loop after a pause, at most RESTARTS times in RESTART_WINDOW_MS; then the loop stays
  // in 'error' with the reason until the settings or the model change.
  const restarts: number[] = [];
  const onWorkerExit = (from: string) => (e: Error) => {
    if (key !== from) return;
    const now = Date.now();
    while (restarts.length && now - restarts[0] > RESTART_WINDOW_MS) restarts.shift();
    if (restarts.length >= RESTARTS) {
      ctx.log('error', `learn: the training worker stopped ${RESTARTS + 1} times within ${RESTART_WINDOW_MS / 60_000} minutes; not restarting it (${e.message})`);
      return;
    }
    restarts.push(now);
    ctx.log('warn', `learn: restarting the training worker in ${RESTART_DELAY_MS / 1000} s (${e.message})`);
    setTimeout(() => {
      if (key !== from) return; // settings or the model changed meanwhile: reconcile already restarted it
      key = '';
      reconcile();
    }, RESTART_DELAY_MS).unref?.();
  };

  const reconcile = () => {
    const want = ctx.initialized && ctx.recordingEnabled && !!ctx.modelPath && !!ctx.storageDir;
    const next = want ? `${ctx.storageDir}\n${ctx.modelPath}` : '';
    const reason = !ctx.recordingEnabled ? 'recording is off (not opted in, or the workspace is not trusted)' : !ctx.modelPath ? 'no model configured' : undefined;
    if (!loop) why = reason;
    if (next === key) return;
    key = next;
    why = reason;
    starting = (async () => {
      const previous = await starting;
      loop = undefined;
      await previous?.dispose();
      if (!next) {
        push(status());
        return undefined;
      }
      const store = await deps.episodes.opened();
      if (!store) {
        why = 'the episode store is not open';
        push(status());
        return undefined;
      }
      try {
        const l = await LearnLoop.start({
          storageDir: ctx.storageDir, modelPath: ctx.modelPath, cacheDir: ctx.cacheDir, store, serve: () => deps.serving, servingBusy: deps.serving.busy, settings,
          log: (level, message) => ctx.log(level, message), onStatus: push, onBusy, onWorkerExit: onWorkerExit(next),
          // bench:round shortens the wait to measure the freed memory.
          ...(Number(process.env.HINDSIGHT_RELEASE_AFTER_MS) > 0 ? { releaseAfterMs: Number(process.env.HINDSIGHT_RELEASE_AFTER_MS) } : {}),
        });
        if (key !== next) {
          await l.dispose(); // settings changed while it started
          return undefined;
        }
        loop = l;
        l.configure(settings); // settings that arrived while it started
        return l;
      } catch (e) {
        why = `the learning loop could not start: ${(e as Error).message}`;
        ctx.log('error', `learn: ${why}`);
        push(status());
        return undefined;
      }
    })();
  };

  ctx.onInitialized(() => reconcile());
  ctx.onConfigured(() => reconcile());
  ctx.onShutdown(async () => {
    key = '';
    const l = await starting;
    loop = undefined;
    await l?.dispose();
  });

  const active = async (): Promise<LearnLoop> => {
    ctx.requireInitialized();
    const l = loop ?? (await starting);
    if (!l) throw new ResponseError(ctx.recordingEnabled ? ErrorCodes.ModelUnavailable : ErrorCodes.RecordingDisabled, `the learning loop is not running: ${why ?? 'starting'}`);
    return l;
  };

  connection.onRequest(learn.status, async () => {
    ctx.requireInitialized();
    return status();
  });
  connection.onRequest(learn.trainNow, async () => {
    ctx.requireInitialized();
    const l = loop ?? (await starting);
    if (!l) return { started: false, reason: `the learning loop is not running: ${why ?? 'starting'}` };
    return l.trainNow();
  });
  connection.onRequest(learn.rollback, async (p) => {
    const l = await active();
    if (p?.version !== undefined && !(Number.isInteger(p.version) && p.version >= 0)) throw new ResponseError(ErrorCodes.InvalidParams, `version must be a non-negative integer (0 = base model), got ${p.version}`);
    try {
      return await l.rollback(p?.version);
    } catch (e) {
      throw new ResponseError(ErrorCodes.InvalidParams, `cannot roll back: ${(e as Error).message}`);
    }
  });
  connection.onRequest(learn.versions, async () => (await active()).versions());
  connection.onRequest(learn.cancel, async () => {
    ctx.requireInitialized();
    return { cancelled: loop?.cancel() ?? false };
  });
  // The loop stops without writing its state back (a running round is dropped with the worker),
  // the files go, serving returns to the base model, and the loop starts again from nothing.
  connection.onRequest(learn.forget, async () => {
    ctx.requireInitialized();
    const previous = starting;
    key = '';
    loop = undefined;
    starting = previous.then(async (l) => {
      await l?.dispose({ persist: false });
      return undefined;
    });
    await starting;
    const result = await forgetLearningData(ctx.storageDir);
    await deps.serving.setAdapter(0, new Map());
    ctx.setAdapterVersion(0);
    ctx.log('info', `learn: forgot ${result.versions.length} adapter version(s)${result.state ? ' and the learning state' : ''} (${result.bytes} bytes)`);
    reconcile();
    return result;
  });
  connection.onRequest(learn.exportGguf, async (p) => {
    ctx.requireInitialized();
    if (!ctx.modelPath) throw new ResponseError(ErrorCodes.ModelUnavailable, 'no model is configured, so there is nothing to export');
    if (!fs.existsSync(p.destDir) || !fs.statSync(p.destDir).isDirectory()) throw new ResponseError(ErrorCodes.InvalidParams, `${p.destDir} is not a folder`);
    const version = p.version ?? ctx.status().adapterVersion;
    const adaptersDir = path.join(ctx.storageDir, 'adapters');
    if (version > 0 && !fs.existsSync(new AdapterStore(adaptersDir).dir(version))) throw new ResponseError(ErrorCodes.InvalidParams, `adapter v${version} does not exist (see "Hindsight: Roll back the adapter" for the versions kept)`);
    if (p.kind === 'adapter' && version === 0) throw new ResponseError(ErrorCodes.InvalidParams, 'the base model is serving (no adapter yet): there is no adapter to export; a merged export writes the base model alone');
    const name = path.basename(path.resolve(ctx.modelPath));
    const weights = p.weights ?? 'f16';
    const modelFile = path.join(p.destDir, p.kind === 'merged' && version > 0 ? `${name}-hindsight-v${version}-${weights}.gguf` : `${name}-${weights}.gguf`);
    const adapterFile = p.kind === 'adapter' ? path.join(p.destDir, `${name}-hindsight-v${version}-lora.gguf`) : undefined;
    ctx.log('info', `learn: exporting ${p.kind === 'merged' ? `the model with adapter v${version} merged in` : `adapter v${version} and its base model`} as GGUF (${weights}) to ${p.destDir}`);
    try {
      const files = await exportInWorker({ kind: p.kind, modelDir: ctx.modelPath, adaptersDir, version, weights, modelFile, ...(adapterFile ? { adapterFile } : {}) }, (e) => void connection.sendNotification(learn.exportProgress, e).catch(() => undefined));
      ctx.log('info', `learn: exported ${files.map((f) => `${path.basename(f.path)} (${(f.bytes / 1e6).toFixed(1)} MB)`).join(', ')}`);
      return { version, files };
    } catch (e) {
      throw new ResponseError(ErrorCodes.InvalidParams, `cannot export as GGUF: ${(e as Error).message}`);
    }
  });
  connection.onRequest(learn.configure, async (p) => {
    settings = mergeSettings(settings, p ?? {});
    loop?.configure(settings);
    return status();
  });

  return { loop: () => loop, ready: () => starting };
}
