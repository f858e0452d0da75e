// Main-thread handle on the serving worker: load a model folder, run completions (cancellable with
// an AbortSignal), swap LoRA adapters without rebuilding the session. Nothing here blocks: the
// model runs in the worker thread (server/serve/worker.ts, bundled as dist/serveWorker.js), over
// the worker channel. A worker that dies answers what was pending, and every later completion,
// with kind 'failed' at once (never a hang); its owner (handlers.ts) starts a new one on next use.
// dispose() cancels what runs and lets the worker leave by itself (never torn down under ORT).
import type { serve } from '../../protocol';
import type { ForwardOptions } from '../model/forwardSession';
import type { LoraSpec } from '../model/lora';
import { WorkerChannel, WorkerExited, workerScript } from '../workers/channel';
import { CANCEL_SLOTS, type Completed, type FromWorker, type Loaded, type ToWorker } from './messages';
import type { Generation } from './generation';

/** What the worker reports once the model is loaded (name, timings, LoRA geometry, facts, precision). */
export type ModelInfo = Loaded;

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export class ModelServer {
  private nextCancelId = 1;
  private cancelSlot = 0;
  /** Cancel ids of completions in flight (dispose cancels them). */
  private readonly running = new Set<number>();
  private readonly cancelRing: Int32Array;

  private constructor(private readonly channel: WorkerChannel<ToWorker, FromWorker>, cancel: SharedArrayBuffer, readonly info: ModelInfo) {
    this.cancelRing = new Int32Array(cancel);
  }

  /**
   * Start a worker and load the folder; rejects with the folder's error message when it cannot.
   * `progress` hears what the load is doing; `onExit` hears of a worker that stopped by itself.
   */
  static async start(
    modelDir: string,
    options: Omit<ForwardOptions, 'log' | 'progress'> = {},
    log: Log = () => undefined,
    progress: (step: string, fraction?: number) => void = () => undefined,
    onExit: (e: WorkerExited) => void = () => undefined,
  ): Promise<ModelServer> {
    const cancel = new SharedArrayBuffer(CANCEL_SLOTS * 4);
    let loaded = false;
    const channel = new WorkerChannel<ToWorker, FromWorker>(workerScript(__dirname, 'serveWorker.js', 'worker.ts'), {
      name: 'serving',
      workerData: { cancel },
      onEvent: (m) => (m.type === 'log' ? log(m.level, m.message) : progress(m.step, m.fraction)),
      onExit: (e) => {
        if (!loaded) return; // start() rejects with it
        log('error', e.message);
        onExit(e);
      },
    });
    try {
      const info = await channel.call<Loaded>({ type: 'load', modelDir, options });
      loaded = true;
      return new ModelServer(channel, cancel, info);
    } catch (e) {
      await channel.close();
      throw e instanceof WorkerExited ? new Error(`${e.message} while loading the model`) : e;
    }
  }

  /** Why the worker is gone, when it is. */
  get dead(): WorkerExited | undefined {
    return this.channel.dead;
  }

  /** One completion. An aborted signal ends it at the next decode step with kind 'cancelled'. */
  async complete(params: serve.CompleteParams, signal?: AbortSignal): Promise<Generation & { reusedTokens?: number }> {
    const cancelId = this.nextCancelId++;
    const cancel = () => Atomics.store(this.cancelRing, this.cancelSlot++ % CANCEL_SLOTS, cancelId);
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
    this.running.add(cancelId);
    try {
      const { result, reusedTokens } = await this.channel.call<Completed>({ type: 'complete', cancelId, params });
      return { ...result, reusedTokens };
    } catch (e) {
      const reason = e instanceof WorkerExited ? `${e.message}; it restarts on the next request` : (e as Error).message;
      return { kind: 'failed', text: '', tokenIds: [], logprobs: [], promptTokenIds: [], adapterVersion: 0, model: this.info.name, elapsedMs: 0, reason };
    } finally {
      this.running.delete(cancelId);
      signal?.removeEventListener('abort', cancel);
    }
  }

  /**
   * Serve a new adapter from the next request on: new LoRA input tensors, same session (a different
   * rank/targets `spec` rebuilds the session once). Tensors are PEFT-named, A [r, in], B [out, r].
   */
  async setAdapter(version: number, tensors: Map<string, Float32Array> | Record<string, Float32Array>, spec?: LoraSpec): Promise<void> {
    await this.channel.call<void>({ type: 'setAdapter', version, tensors: tensors instanceof Map ? Object.fromEntries(tensors) : tensors, spec });
    if (spec) this.info.lora = spec;
  }

  /**
   * Cancels the completions in flight (unless `finishRunning`: a handover to another server lets
   * them end as they would have), then closes the worker once they have answered.
   */
  async dispose(finishRunning = false): Promise<void> {
    if (!finishRunning) for (const id of this.running) Atomics.store(this.cancelRing, this.cancelSlot++ % CANCEL_SLOTS, id);
    await this.channel.close();
  }
}
