// Main-thread handle on the serving worker: load a model folder, run completions (cancellable with
// an AbortSignal), swap LoRA adapters without rebuilding the session. Nothing here blocks: the
// model runs in the worker thread (server/serve/worker.ts, bundled as dist/serveWorker.js).
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { serve } from '../../protocol';
import type { ForwardOptions } from '../model/forwardSession';
import type { LoraSpec } from '../model/lora';
import { CANCEL_SLOTS, type FromWorker, type ToWorker } from './messages';

export interface ModelInfo {
  name: string;
  loadMs: number;
  provider: string;
  lora: LoraSpec;
}

/** The worker script: the bundled file next to this bundle, or the TypeScript source under tsx. */
function workerScript(): string {
  const bundled = path.join(__dirname, 'serveWorker.js');
  if (fs.existsSync(bundled)) return bundled;
  return path.join(__dirname, 'worker.ts');
}

export class ModelServer {
  private nextId = 1;
  private cancelSlot = 0;
  private pending = new Map<number, (m: FromWorker) => void>();
  private cancelRing: Int32Array;

  private constructor(private worker: Worker, cancel: SharedArrayBuffer, readonly info: ModelInfo, private log: (level: 'info' | 'warn' | 'error', message: string) => void) {
    this.cancelRing = new Int32Array(cancel);
    worker.on('message', (m: FromWorker) => this.onMessage(m));
  }

  /** Start a worker and load the folder; rejects with the folder's error message when it cannot. */
  static async start(modelDir: string, options: Omit<ForwardOptions, 'log'> = {}, log: (level: 'info' | 'warn' | 'error', message: string) => void = () => undefined): Promise<ModelServer> {
    const cancel = new SharedArrayBuffer(CANCEL_SLOTS * 4);
    const script = workerScript();
    // Under tsx (tests, benches) the TypeScript source is loaded through tsx's CommonJS hook.
    const worker = script.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true, workerData: { cancel } })
      : new Worker(script, { workerData: { cancel } });
    const info = await new Promise<ModelInfo>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'log') log(m.level, m.message);
        else if (m.type === 'loaded') done(() => resolve({ name: m.name, loadMs: m.loadMs, provider: m.provider, lora: m.lora }));
        else if (m.type === 'loadFailed') done(() => reject(new Error(m.message)));
      };
      const onError = (e: Error) => done(() => reject(e));
      const onExit = (code: number) => done(() => reject(new Error(`serving worker exited with code ${code} while loading`)));
      const done = (f: () => void) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        f();
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ type: 'load', modelDir, options } satisfies ToWorker);
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    const server = new ModelServer(worker, cancel, info, log);
    worker.on('error', (e) => log('error', `serving worker: ${e.stack ?? e.message}`));
    return server;
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'log') return this.log(m.level, m.message);
    if (m.type === 'result' || m.type === 'adapterSet') {
      const cb = this.pending.get(m.id);
      this.pending.delete(m.id);
      cb?.(m);
    }
  }

  /** One completion. An aborted signal ends it at the next decode step with kind 'cancelled'. */
  complete(params: serve.CompleteParams, signal?: AbortSignal): Promise<serve.CompleteResult & { reusedTokens?: number }> {
    const id = this.nextId++;
    const p = new Promise<serve.CompleteResult & { reusedTokens?: number }>((resolve) => {
      this.pending.set(id, (m) => m.type === 'result' && resolve({ ...m.result, reusedTokens: m.reusedTokens }));
    });
    const cancel = () => Atomics.store(this.cancelRing, this.cancelSlot++ % CANCEL_SLOTS, id);
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
    this.worker.postMessage({ type: 'complete', id, params } satisfies ToWorker);
    return p;
  }

  /**
   * Serve a new adapter from the next request on: new LoRA input tensors, same session (a different
   * rank/targets `spec` rebuilds the session once). Tensors are PEFT-named, A [r, in], B [out, r].
   */
  setAdapter(version: number, tensors: Map<string, Float32Array> | Record<string, Float32Array>, spec?: LoraSpec): Promise<void> {
    const id = this.nextId++;
    const record = tensors instanceof Map ? Object.fromEntries(tensors) : tensors;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, (m) => (m.type === 'adapterSet' && m.error ? reject(new Error(m.error)) : resolve()));
      this.worker.postMessage({ type: 'setAdapter', id, version, tensors: record, spec } satisfies ToWorker);
    }).then(() => {
      if (spec) this.info.lora = spec;
    });
  }

  async dispose(): Promise<void> {
    await this.worker.terminate();
    for (const cb of this.pending.values()) cb({ type: 'result', id: -1, reusedTokens: 0, result: { kind: 'unavailable', text: '', tokenIds: [], logprobs: [], promptTokenIds: [], adapterVersion: 0, model: this.info.name, elapsedMs: 0, reason: 'serving stopped' } });
    this.pending.clear();
  }
}
