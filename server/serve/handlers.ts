// serve/*: answers serve/complete from the serving worker, (re)loads the model when ctx.modelPath
// changes, and gives the trainer `setAdapter(version, tensors)` to swap adapters in without a
// pause. Expected outcomes are values: no model, still loading, load failure → 'unavailable'.
import type { MessageConnection } from 'vscode-jsonrpc';
import { serve } from '../../protocol';
import type { ServerContext } from '../context';
import type { ForwardOptions } from '../model/forwardSession';
import type { LoraSpec } from '../model/lora';
import { ModelServer } from './modelServer';

export interface ServeArea {
  /** Serve this adapter from the next request on (PEFT-named A/B tensors; see server/model/lora). */
  setAdapter(version: number, tensors: Map<string, Float32Array>, spec?: LoraSpec): Promise<void>;
  /** The running model server, when one is loaded. */
  current(): ModelServer | undefined;
  /** Resolves when the current load attempt ends (for tests and the trainer's start-up). */
  ready(): Promise<ModelServer | undefined>;
}

/** The last registered area, for in-process callers (the trainer) that are not handed it. */
let active: ServeArea | undefined;
export function serving(): ServeArea | undefined {
  return active;
}

export function registerServeHandlers(connection: MessageConnection, ctx: ServerContext, options: Omit<ForwardOptions, 'log'> = serveOptionsFromEnv()): ServeArea {
  let server: ModelServer | undefined;
  let loading: Promise<ModelServer | undefined> = Promise.resolve(undefined);
  let loadedPath = '';
  let failure: string | undefined;
  let adapter: { version: number; tensors: Map<string, Float32Array>; spec?: LoraSpec } | undefined;

  const load = (modelPath: string) => {
    if (modelPath === loadedPath) return;
    loadedPath = modelPath;
    const previous = server;
    server = undefined;
    failure = undefined;
    loading = (async () => {
      await previous?.dispose();
      if (!modelPath) return undefined;
      try {
        const s = await ModelServer.start(modelPath, options, (level, message) => ctx.log(level, `serve: ${message}`));
        if (loadedPath !== modelPath) {
          await s.dispose(); // the path changed while this one was loading
          return undefined;
        }
        if (adapter) await s.setAdapter(adapter.version, adapter.tensors, adapter.spec);
        server = s;
        return s;
      } catch (e) {
        failure = (e as Error).message;
        ctx.log('error', `serve: cannot load the model: ${failure}`);
        return undefined;
      }
    })();
  };

  ctx.onInitialized(() => load(ctx.modelPath));
  ctx.onConfigured(() => load(ctx.modelPath));
  ctx.onShutdown(async () => {
    loadedPath = '';
    await server?.dispose();
    server = undefined;
  });

  connection.onRequest(serve.complete, async (params, token) => {
    ctx.requireInitialized();
    const none = (reason: string): serve.CompleteResult => ({ kind: 'unavailable', text: '', tokenIds: [], logprobs: [], promptTokenIds: [], adapterVersion: adapter?.version ?? 0, model: '', elapsedMs: 0, reason });
    if (!ctx.modelPath) return none('no model configured: set hindsight.model.path to a local model folder, or download Qwen2.5-Coder-0.5B');
    if (!server) return none(failure ? `model failed to load: ${failure}` : 'model is loading');
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      const { reusedTokens: _reused, ...result } = await server.complete(params, ac.signal);
      return result;
    } finally {
      sub.dispose();
    }
  });

  const area: ServeArea = {
    async setAdapter(version, tensors, spec) {
      adapter = { version, tensors, spec };
      if (server) await server.setAdapter(version, tensors, spec);
      ctx.setAdapterVersion(version);
    },
    current: () => server,
    ready: () => loading,
  };
  active = area;
  return area;
}

/**
 * Serving options from the environment, until they become settings: HINDSIGHT_PROVIDERS
 * ("webgpu,cpu"), HINDSIGHT_THREADS, HINDSIGHT_DTYPE (float32|float16), HINDSIGHT_QUANTIZE (none|q4).
 * CPU-only serving defaults to 4-bit weights: decode reads every weight once per token and is
 * bandwidth-bound, so 4-bit is ~3x faster than fp32 (bench:serve); GPU providers keep full weights.
 */
export function serveOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<ForwardOptions, 'log'> {
  const providers = env.HINDSIGHT_PROVIDERS?.split(',').map((s) => s.trim()).filter(Boolean) as ForwardOptions['providers'];
  const threads = Number(env.HINDSIGHT_THREADS);
  return {
    ...(providers?.length ? { providers } : {}),
    ...(threads > 0 ? { intraOpThreads: threads } : {}),
    ...(env.HINDSIGHT_DTYPE === 'float16' ? { dtype: 'float16' as const } : {}),
    quantize: env.HINDSIGHT_QUANTIZE === 'none' || env.HINDSIGHT_QUANTIZE === 'q4' ? env.HINDSIGHT_QUANTIZE : providers?.some((p) => p !== 'cpu') ? 'none' : 'q4',
  };
}
