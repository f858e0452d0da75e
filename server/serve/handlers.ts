// serve/*: answers serve/complete from the serving worker, keeps each suggestion's generation
// record (generation.ts) for the episode store, (re)loads the model when ctx.modelPath changes, and
// gives the trainer `setAdapter(version, tensors)` to swap adapters in without a pause. Expected
// outcomes are values: no model, still loading, load failure → 'unavailable'. A serving worker
// that stopped is replaced on the next request (its pending ones answer 'failed').
// Until there is an adapter the model serves through a graph without LoRA inputs (faster); the
// first adapter loads the LoRA graph in a second worker while the first keeps serving, then that
// one takes over (a handover: no request waits for it).
import * as os from 'node:os';
import * as path from 'node:path';
import type { MessageConnection } from 'vscode-jsonrpc';
import { serve, type lifecycle } from '../../protocol';
import type { ServerContext } from '../context';
import { BASE_SERVE_LORA, DEFAULT_SERVE_LORA, type ForwardOptions } from '../model/forwardSession';
import type { LoraSpec } from '../model/lora';
import { AdapterStore } from '../train/adapterStore';
import { ModelServer } from './modelServer';
import { prefixWithHint } from '../judge/hintPlacement';
import { GenerationRecords, toWire } from './generation';

export interface ServeArea {
  /** Serve this adapter from the next request on (PEFT-named A/B tensors; see server/model/lora). */
  setAdapter(version: number, tensors: Map<string, Float32Array>, spec?: LoraSpec): Promise<void>;
  /** The running model server, when one is loaded. */
  current(): ModelServer | undefined;
  /** Resolves when the current load attempt ends (for tests and the trainer's start-up). */
  ready(): Promise<ModelServer | undefined>;
  /** The generation records of recent suggestions, for the episode store. */
  readonly generations: GenerationRecords;
  /** Int32 [0]: suggestions being generated now. The learn worker waits on it between passes (Atomics). */
  readonly busy: SharedArrayBuffer;
}

/**
 * `fixed` pins the serving options (tests, benches); otherwise they follow hindsight.serving.*
 * (ctx.serving) with HINDSIGHT_* environment variables on top, for development.
 */
export function registerServeHandlers(connection: MessageConnection, ctx: ServerContext, fixed?: Omit<ForwardOptions, 'log'>): ServeArea {
  let server: ModelServer | undefined;
  let loading: Promise<ModelServer | undefined> = Promise.resolve(undefined);
  let loadedPath = '';
  let loadedKey = '';
  let failure: string | undefined;
  let loadedOptions: Omit<ForwardOptions, 'log'> = {};
  let adapter: { version: number; tensors: Map<string, Float32Array>; spec?: LoraSpec } | undefined;
  const generations = new GenerationRecords();
  const busy = new SharedArrayBuffer(4);
  const generating = new Int32Array(busy);
  const serveLog = (level: 'info' | 'warn' | 'error', message: string) => ctx.log(level, `serve: ${message}`);

  /** An adapter with weights needs the graph with LoRA inputs; version 0 (the base) does not. */
  const learned = () => (adapter?.tensors.size ?? 0) > 0;
  /**
   * Adapters stored by an earlier session, with recording on: the learning loop (which runs only
   * then) will serve one shortly, so load the LoRA graph at once.
   */
  const storedAdapters = () => {
    try {
      return ctx.recordingEnabled && !!ctx.storageDir && new AdapterStore(path.join(ctx.storageDir, 'adapters')).versions().length > 0;
    } catch {
      return false;
    }
  };
  /** A server on the base graph while an adapter with weights waits: the handover's case. */
  const needsHandover = (s: ModelServer) => learned() && !hasLora(s);
  const loraFor = (): LoraSpec => fixed?.lora ?? (learned() || storedAdapters() ? (adapter?.spec ?? DEFAULT_SERVE_LORA) : BASE_SERVE_LORA);

  // A changed model folder or serving setting reloads the model; anything else keeps it. Every
  // step is reported as the model state (ctx.setModel) the editor shows next to the trainer state.
  const load = (modelPath: string) => {
    const options = { ...(fixed ?? { ...serveOptionsFromSettings(ctx.serving), ...serveOptionsFromEnv() }), ...(ctx.cacheDir ? { cacheDir: ctx.cacheDir } : {}) };
    const key = `${modelPath}\n${JSON.stringify(options)}`;
    if (key === loadedKey) return;
    loadedKey = key;
    loadedPath = modelPath;
    loadedOptions = options;
    const previous = server;
    server = undefined;
    failure = undefined;
    const name = path.basename(path.resolve(modelPath));
    const startedAt = Date.now();
    const current = () => loadedKey === key;
    ctx.setModel(modelPath ? { kind: 'loading', path: modelPath, name, step: 'starting', startedAt } : { kind: 'none' });
    loading = (async () => {
      await previous?.dispose();
      if (!modelPath) return undefined;
      try {
        const lora = loraFor();
        // The base graph's load also writes the LoRA graph's file while the 4-bit weights are at hand, so the handover loads in a second.
        const s = await ModelServer.start(modelPath, { ...options, lora, ...(lora.targets.length ? {} : { prepare: [DEFAULT_SERVE_LORA] }) }, serveLog, (step, fraction) => {
          if (current()) ctx.setModel({ kind: 'loading', path: modelPath, name, step, ...(fraction !== undefined ? { fraction } : {}), startedAt });
        });
        if (!current()) {
          await s.dispose(); // the path or a setting changed while this one was loading
          return undefined;
        }
        if (adapter && !needsHandover(s)) await s.setAdapter(adapter.version, adapter.tensors, adapter.spec);
        server = s;
        if (needsHandover(s)) void apply().catch(() => undefined); // an adapter arrived during the load: hand over (logged there)
        const i = s.info;
        ctx.setModel({ kind: 'ready', path: modelPath, facts: i.facts, weights: i.weights, compute: i.compute, device: i.provider, loadMs: Math.round(i.loadMs) });
        return s;
      } catch (e) {
        failure = (e as Error).message;
        ctx.log('error', `serve: cannot load the model: ${failure}`);
        if (current()) ctx.setModel({ kind: 'failed', path: modelPath, name, reason: failure });
        return undefined;
      }
    })();
  };

  ctx.onInitialized(() => load(ctx.modelPath));
  ctx.onConfigured(() => load(ctx.modelPath));
  ctx.onShutdown(async () => {
    loadedPath = '';
    loadedKey = '';
    // A load in flight sees it is no longer current and closes its own worker when it ends.
    await loading;
    await server?.dispose();
    server = undefined;
  });

  connection.onRequest(serve.complete, async (params, token) => {
    ctx.requireInitialized();
    const none = (reason: string): serve.CompleteResult => ({ kind: 'unavailable', text: '', adapterVersion: adapter?.version ?? 0, model: '', elapsedMs: 0, reason });
    if (!ctx.modelPath) return none('no model configured: set hindsight.model.path to a local model folder, or download Qwen2.5-Coder-0.5B');
    if (!server) return none(failure ? `model failed to load: ${failure}` : 'model is loading');
    if (server.dead) {
      // The worker stopped (a crash, out of memory): start a new one; this request is not served.
      const why = server.dead.message;
      loadedKey = '';
      load(ctx.modelPath);
      return none(`${why}; restarting it`);
    }
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    Atomics.add(generating, 0, 1);
    try {
      const hint = params.hint?.trim();
      const result = await server.complete(hint ? { ...params, prefix: prefixWithHint(params.prefix, hint, params.languageId) } : params, ac.signal);
      return toWire(result, result.kind === 'success' && result.text.length > 0 ? generations.keep(params, result) : undefined);
    } finally {
      sub.dispose();
      Atomics.sub(generating, 0, 1);
      Atomics.notify(generating, 0);
    }
  });

  /**
   * The LoRA graph's server replaces `from` (the base graph's): loaded in a second worker while
   * `from` serves, then requests go to it and `from` closes once what it runs has answered.
   * Undefined when the model changed meanwhile.
   */
  const handover = async (from: ModelServer, spec: LoraSpec): Promise<ModelServer | undefined> => {
    const key = loadedKey;
    const t0 = performance.now();
    serveLog('info', `the first adapter: loading the model with LoRA inputs (rank ${spec.rank}) beside the one serving`);
    const next = await ModelServer.start(loadedPath, { ...loadedOptions, lora: spec }, serveLog);
    if (loadedKey !== key || server !== from) {
      await next.dispose();
      return undefined;
    }
    server = next;
    serveLog('info', `handed over to the LoRA graph after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await from.dispose(true);
    return next;
  };

  // Adapter changes apply one at a time, in order (a handover takes seconds).
  let applying: Promise<void> = Promise.resolve();
  const apply = (): Promise<void> => {
    const run = applying.then(async () => {
      let s = server;
      const a = adapter;
      // A dead or loading server gets it when it starts (load() applies `adapter`).
      if (!a || !s || s.dead) return;
      if (needsHandover(s)) s = await handover(s, a.spec ?? DEFAULT_SERVE_LORA);
      if (s && adapter === a) await s.setAdapter(a.version, a.tensors, a.spec);
    });
    applying = run.catch((e) => serveLog('error', `adapter not applied: ${(e as Error).message}`));
    return run;
  };

  const area: ServeArea = {
    async setAdapter(version, tensors, spec) {
      adapter = { version, tensors, spec };
      await apply();
      ctx.setAdapterVersion(version);
    },
    current: () => server,
    ready: () => loading,
    generations,
    busy,
  };
  return area;
}

/** Whether the server's graph takes LoRA inputs (the base graph has none). */
const hasLora = (s: ModelServer) => s.info.lora.targets.length > 0;

/**
 * Serving threads when hindsight.serving.threads is 0: one core is left to the editor and the
 * JSON-RPC loop (on 2 cores, 1 serving thread kept event-loop stalls near 14-20 ms where 2 gave
 * 25-35 ms, at a similar suggestion time while the machine was busy), at most 8.
 */
export function autoServeThreads(cores = os.availableParallelism()): number {
  return Math.max(1, Math.min(8, cores - 1));
}

/**
 * Serving options from hindsight.serving.*. CPU-only serving defaults to 4-bit weights for large
 * models: decode reads every weight once per token and is bandwidth-bound, so 4-bit is ~2-3x faster
 * than fp32 (bench:serve); small ones (the bundled starter) keep their weights ('auto', see
 * forwardSession.ts). GPU providers keep full weights (fp16 on GPU is HINDSIGHT_DTYPE=float16).
 */
export function serveOptionsFromSettings(s: lifecycle.ServingSettings | undefined, cores = os.availableParallelism()): Omit<ForwardOptions, 'log'> {
  const provider = s?.executionProvider ?? 'cpu';
  const providers: NonNullable<ForwardOptions['providers']> = provider === 'cpu' ? ['cpu'] : [provider, 'cpu'];
  const weights = s?.weights ?? 'auto';
  const threads = s && s.threads > 0 ? Math.floor(s.threads) : autoServeThreads(cores);
  return {
    providers,
    intraOpThreads: threads,
    quantize: weights === 'q4' ? 'q4' : weights === 'full' ? 'none' : provider === 'cpu' ? 'auto' : 'none',
    // Pool threads that spin between kernels instead of sleeping (ORT's default; llama.cpp's threads
    // poll too): decode 7 % faster at 2 threads (bench:profile, 4 process pairs at 0.5B). Only while a
    // core stays free for the editor and the JSON-RPC loop; one thread has no pool to spin.
    spin: threads >= 2 && threads < cores,
  };
}

/**
 * Development overrides from the environment (each wins over the setting it names):
 * HINDSIGHT_PROVIDERS ("webgpu,cpu"), HINDSIGHT_THREADS, HINDSIGHT_DTYPE (float32|float16),
 * HINDSIGHT_QUANTIZE (none|q4).
 */
export function serveOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<ForwardOptions, 'log'> {
  const providers = env.HINDSIGHT_PROVIDERS?.split(',').map((s) => s.trim()).filter(Boolean) as ForwardOptions['providers'];
  const threads = Number(env.HINDSIGHT_THREADS);
  const quantize = env.HINDSIGHT_QUANTIZE === 'none' || env.HINDSIGHT_QUANTIZE === 'q4' ? env.HINDSIGHT_QUANTIZE : providers?.length ? (providers.some((p) => p !== 'cpu') ? 'none' : 'q4') : undefined;
  return {
    ...(providers?.length ? { providers } : {}),
    ...(threads > 0 ? { intraOpThreads: threads } : {}),
    ...(env.HINDSIGHT_DTYPE === 'float16' ? { dtype: 'float16' as const } : {}),
    ...(quantize ? { quantize } : {}),
  };
}
