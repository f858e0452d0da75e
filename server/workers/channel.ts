// One small channel to a worker thread, used by the serving and the learn workers (main-thread
// side; port.ts is the worker side). Requests carry ids and get exactly one reply; events (logs,
// progress) flow back without one. When the worker exits or throws, every pending request is
// rejected with a WorkerExited error that says so, and later ones fail at once: nothing waits
// forever on a dead thread, and the owner decides whether to start a new one. An idle worker does
// not keep the process alive (a forgotten one cannot hang an exit); one with work or closing does.
// Closing is cooperative: the worker finishes what it is running, releases its sessions and exits
// by itself. worker.terminate() is never used on a busy worker: onnxruntime cannot be interrupted
// in session.run() or while it builds a session, and a thread torn down under it aborts the whole
// process ("terminate called after throwing an instance of 'Napi::Error'").
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Main → worker. */
export type ToPort<Req> = { id: number; req: Req } | { close: true };
/** Worker → main. */
export type FromPort<Ev> = { id: number; value: unknown } | { id: number; error: string } | { event: Ev };

export class WorkerExited extends Error {
  constructor(readonly worker: string, readonly code: number | undefined, cause?: string) {
    super(`the ${worker} worker stopped${code !== undefined ? ` (exit code ${code})` : ''}${cause ? `: ${cause}` : ''}`);
    this.name = 'WorkerExited';
  }
}

export interface ChannelOptions<Ev> {
  /** Named in errors: "the serving worker stopped (exit code 1)". */
  name: string;
  workerData?: unknown;
  onEvent?: (event: Ev) => void;
  /** The worker stopped without being asked to (not called after close()). */
  onExit?: (error: WorkerExited) => void;
}

/** The bundled worker script next to this bundle (dist/<bundled>), else the TypeScript source under tsx. */
export function workerScript(dir: string, bundled: string, source: string): string {
  const file = path.join(dir, bundled);
  return fs.existsSync(file) ? file : path.join(dir, source);
}

export class WorkerChannel<Req, Ev> {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stopped: WorkerExited | undefined;
  private lastError: string | undefined;
  private closing = false;
  private readonly exited: Promise<void>;

  constructor(script: string, private readonly opts: ChannelOptions<Ev>) {
    // Under tsx (tests, benches) the TypeScript source is loaded through tsx's CommonJS hook.
    this.worker = script.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true, workerData: opts.workerData })
      : new Worker(script, { workerData: opts.workerData });
    this.worker.unref();
    this.worker.on('message', (m: FromPort<Ev>) => this.onMessage(m));
    // An uncaught exception in the worker: 'error' comes first, then 'exit'.
    this.worker.on('error', (e) => (this.lastError = e.stack ?? e.message));
    this.exited = new Promise((resolve) =>
      this.worker.on('exit', (code) => {
        this.stopped = new WorkerExited(opts.name, code, this.closing ? 'closed' : this.lastError);
        for (const p of this.pending.values()) p.reject(this.stopped);
        this.pending.clear();
        if (!this.closing) opts.onExit?.(this.stopped);
        resolve();
      }),
    );
  }

  /** Why the worker is gone (undefined while it runs). */
  get dead(): WorkerExited | undefined {
    return this.stopped;
  }

  /** One request; resolves with the worker's reply, rejects with its error or with WorkerExited. */
  call<T>(req: Req): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (this.closing) return Promise.reject(new WorkerExited(this.opts.name, undefined, 'closing'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, req } satisfies ToPort<Req>);
    });
  }

  private onMessage(m: FromPort<Ev>): void {
    if ('event' in m) return this.opts.onEvent?.(m.event);
    const p = this.pending.get(m.id);
    this.pending.delete(m.id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref();
    if ('error' in m) p?.reject(new Error(m.error));
    else p?.resolve(m.value);
  }

  /**
   * Asks the worker to leave after the requests it already has (callers make long ones end early:
   * cancel flags), and waits up to `graceMs` for it. A worker still busy then is left to finish
   * and exit by itself rather than torn down under onnxruntime. Idempotent.
   */
  async close(graceMs = 60_000): Promise<'closed' | 'left running'> {
    if (!this.stopped && !this.closing) {
      this.closing = true;
      this.worker.ref(); // until it has released its sessions and left
      this.worker.postMessage({ close: true } satisfies ToPort<Req>);
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'left running'>((r) => (timer = setTimeout(() => r('left running'), graceMs)));
    const outcome = await Promise.race([this.exited.then(() => 'closed' as const), late]);
    clearTimeout(timer);
    return outcome;
  }
}
