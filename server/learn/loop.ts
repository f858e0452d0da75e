// The learning loop on the trainer's main thread: watches the episode store, decides when to train
// (schedule.ts), hands rounds to the learn worker thread (worker.ts; never blocks this thread),
// swaps a promoted adapter into serving with no pause (ServeArea.setAdapter), rolls back, and
// remembers the serving version and the episodes it used (state.ts). Every settled episode ends up
// trained on or skipped with a counted reason. Leaves out JSON-RPC (handlers.ts) and the round
// itself (engine.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { episodes, learn } from '../../protocol';
import { judge } from '../judge/judge';
import type { LoraSpec } from '../model/lora';
import { screen, type BatchItem } from './batch';
import { decideSchedule, type LearnSettings } from './schedule';
import { loadState, saveState, stateFile, type LearnState } from './state';
import type { AdapterPayload, FromLearnWorker, InitResult, RoundReply, ToLearnWorker } from './messages';

type EpisodeView = episodes.EpisodeView;

/** What the loop needs of the episode store (EpisodeStore has it). */
export interface EpisodeSource {
  query(q: episodes.QueryParams): episodes.QueryResult;
  onChange(listener: (view: EpisodeView) => void): () => void;
}

/** What the loop needs of serving (ServeArea has it). */
export interface AdapterSink {
  setAdapter(version: number, tensors: Map<string, Float32Array>, spec?: LoraSpec): Promise<void>;
}

export interface LoopDeps {
  storageDir: string;
  modelPath: string;
  store: EpisodeSource;
  serve: () => AdapterSink | undefined;
  settings: LearnSettings;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Called on every status change (learn/statusChanged). */
  onStatus?: (s: learn.StatusResult) => void;
  /** A round started (true) or ended (false): the trainer state shows 'training'. */
  onBusy?: (busy: boolean) => void;
  /** ORT threads of the training session (default 1: leave a core to the editor and serving). */
  threads?: number;
  now?: () => number;
}

/** Held-out episodes for the drift bound (newest settled ones outside the batch). */
const HELD_OUT = 8;

function workerScript(): string {
  const bundled = path.join(__dirname, 'learnWorker.js');
  if (fs.existsSync(bundled)) return bundled;
  return path.join(__dirname, 'worker.ts');
}

export class LearnLoop {
  private worker: Worker;
  private nextId = 1;
  private pendingCalls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private state: LearnState;
  private readonly file: string;
  private serving = 0;
  private model = '';
  private vocabSize = 0;
  private loop: learn.LoopState = 'starting';
  private detail: string | undefined;
  private progress: { step: number; steps: number; loss?: number } | undefined;
  private versionList: learn.VersionInfo[] = [];
  private usable: BatchItem[] = [];
  private lastEpisodeAt = -Infinity;
  private busy = false;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private unsubscribe: () => void = () => undefined;
  private disposed = false;
  private settings: LearnSettings;
  private readonly now: () => number;

  private constructor(private readonly deps: LoopDeps) {
    this.settings = deps.settings;
    this.now = deps.now ?? Date.now;
    this.file = stateFile(deps.storageDir);
    this.state = loadState(this.file, (m) => deps.log('warn', m));
    const script = workerScript();
    this.worker = script.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true })
      : new Worker(script);
    this.worker.on('message', (m: FromLearnWorker) => this.onMessage(m));
    this.worker.on('error', (e) => deps.log('error', `learn worker: ${e.stack ?? e.message}`));
    this.worker.on('exit', (code) => {
      for (const p of this.pendingCalls.values()) p.reject(new Error(`learn worker exited (code ${code})`));
      this.pendingCalls.clear();
      if (!this.disposed) this.setLoop('error', `the training worker stopped (code ${code})`);
    });
  }

  /** Start the worker, load the serving adapter (remembered, else newest valid) and serve it. */
  static async start(deps: LoopDeps): Promise<LearnLoop> {
    const loop = new LearnLoop(deps);
    try {
      await loop.init();
    } catch (e) {
      await loop.dispose();
      throw e;
    }
    return loop;
  }

  private async init(): Promise<void> {
    const t0 = this.now();
    const adaptersDir = path.join(this.deps.storageDir, 'adapters');
    const init = await this.call<InitResult>({ type: 'init', id: 0, modelDir: this.deps.modelPath, adaptersDir, wanted: this.state.serving, threads: this.deps.threads ?? 1 });
    this.model = init.model;
    this.vocabSize = init.vocabSize;
    for (const p of init.problems) this.deps.log('warn', `learn: adapter v${p.version} skipped on start: ${p.problem}`);
    if (init.adapter) await this.serveAdapter(init.adapter);
    this.serving = init.serving;
    if (this.state.serving !== undefined && this.state.serving !== init.serving) {
      this.deps.log('warn', `learn: remembered adapter v${this.state.serving} could not be served; serving v${init.serving} instead`);
      this.state.serving = init.serving;
      await this.save();
    }
    this.versionList = await this.call<learn.VersionInfo[]>({ type: 'versions', id: 0 });
    this.deps.log('info', `learn: ready in ${this.now() - t0} ms; serving ${init.serving ? `adapter v${init.serving}` : 'the base model'} (${this.versionList.length} version(s) stored)`);
    this.unsubscribe = this.deps.store.onChange((v) => this.onEpisode(v));
    this.loop = 'idle';
    this.scan();
    this.reschedule();
    this.push();
  }

  // ---- worker calls ------------------------------------------------------------------------

  private call<T>(m: ToLearnWorker): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pendingCalls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...m, id });
    });
  }

  private onMessage(m: FromLearnWorker): void {
    if (m.type === 'log') return this.deps.log(m.level, `learn: ${m.message}`);
    if (m.type === 'progress') {
      this.progress = { step: m.step, steps: m.steps, ...(m.loss !== undefined ? { loss: m.loss } : {}) };
      this.setLoop(m.state);
      return;
    }
    const p = this.pendingCalls.get(m.id);
    this.pendingCalls.delete(m.id);
    if (m.error !== undefined) p?.reject(new Error(m.error));
    else p?.resolve(m.value);
  }

  private async serveAdapter(a: AdapterPayload): Promise<void> {
    const sink = this.deps.serve();
    if (!sink) {
      this.deps.log('warn', `learn: no serving area; adapter v${a.version} is not served`);
      return;
    }
    await sink.setAdapter(a.version, new Map(Object.entries(a.tensors)), a.spec);
  }

  // ---- episodes and schedule ---------------------------------------------------------------

  private onEpisode(v: EpisodeView): void {
    if (v.events.length === 0) this.lastEpisodeAt = Math.max(this.lastEpisodeAt, this.now());
    if (v.status !== 'complete' || this.scanTimer) return;
    // Several events land together (accept + survival …): scan once after they settle.
    this.scanTimer = setTimeout(() => {
      this.scanTimer = undefined;
      if (this.disposed) return;
      this.scan();
      this.reschedule();
      this.push();
    }, 200);
  }

  /** Screen every settled episode not seen yet: usable ones wait for a round, the rest are counted. */
  private scan(): void {
    const seen = new Set(this.state.consumed);
    const queued = new Set(this.usable.map((u) => u.view.id));
    const all = this.deps.store.query({ status: 'complete', limit: Number.MAX_SAFE_INTEGER }).episodes.reverse(); // oldest first
    const usable: BatchItem[] = [];
    let skipped = 0;
    for (const view of all) {
      if (seen.has(view.id)) continue;
      const j = judge(view);
      const s = screen(view, j, { model: this.model, vocabSize: this.vocabSize, currentVersion: this.serving, maxStaleness: this.settings.maxStaleness });
      if (s.ok) usable.push({ view, judgement: j, staleness: s.staleness });
      else {
        this.state.skipped[s.reason] = (this.state.skipped[s.reason] ?? 0) + 1;
        this.state.consumed.push(view.id);
        skipped++;
        if (queued.has(view.id)) this.deps.log('info', `learn: episode ${view.id} skipped: ${s.reason}`);
      }
    }
    this.usable = usable;
    if (skipped) void this.save();
  }

  private reschedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed || this.loop === 'error') return;
    const d = decideSchedule({ settings: this.settings, pending: this.usable.length, idleMs: this.now() - this.lastEpisodeAt, busy: this.busy });
    if (d.kind === 'train') void this.enqueueRound().catch((e) => this.deps.log('error', `learn: round failed: ${(e as Error).message}`));
    else if (d.kind === 'wait') this.timer = setTimeout(() => this.reschedule(), Math.min(d.ms + 50, 60_000));
  }

  configure(settings: LearnSettings): void {
    const staleChanged = settings.maxStaleness !== this.settings.maxStaleness;
    this.settings = settings;
    if (staleChanged) this.scan();
    this.reschedule();
    this.push();
  }

  // ---- rounds --------------------------------------------------------------------------------

  /** "Train now": one round with what is pending (at least minEpisodes), waiting for its report. */
  async trainNow(): Promise<learn.TrainNowResult> {
    if (this.settings.schedule === 'off') return { started: false, reason: 'training is off (hindsight.training.schedule is "off")' };
    if (this.busy) return { started: false, reason: 'a training round is already running' };
    this.scan();
    if (this.usable.length < this.settings.minEpisodes)
      return { started: false, reason: `${this.usable.length} usable settled episode(s); a round needs at least ${this.settings.minEpisodes} (hindsight.training.minEpisodes)` };
    const report = await this.enqueueRound();
    return report ? { started: true, report } : { started: false, reason: 'nothing to train on' };
  }

  private enqueueRound(): Promise<learn.RoundReport | undefined> {
    this.busy = true; // claimed now so the schedule does not queue a second round
    const run = this.queue.then(() => this.runRound());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runRound(): Promise<learn.RoundReport | undefined> {
    this.busy = true;
    try {
      this.scan();
      const items = this.usable.slice(0, this.settings.batchSize);
      if (!items.length) return undefined;
      const inBatch = new Set(items.map((i) => i.view.id));
      const heldOut = this.deps.store
        .query({ status: 'complete', limit: 64 })
        .episodes.filter((v) => !inBatch.has(v.id) && v.model === this.model && v.tokenIds.length && v.promptTokenIds.length && [...v.promptTokenIds, ...v.tokenIds].every((id) => id >= 0 && id < this.vocabSize))
        .slice(0, HELD_OUT)
        .map((v) => ({ context: v.promptTokenIds, response: v.tokenIds }));
      this.deps.onBusy?.(true);
      this.progress = { step: 0, steps: this.settings.stepsPerRound };
      this.setLoop('training');
      let report: learn.RoundReport;
      try {
        const reply = await this.call<RoundReply>({ type: 'round', id: 0, req: { items, heldOut, serving: this.serving, settings: this.settings } });
        report = reply.report;
        if (reply.adapter) {
          await this.serveAdapter(reply.adapter);
          this.serving = reply.adapter.version;
          this.state.serving = this.serving;
          if (reply.info) this.state.versions[String(this.serving)] = reply.info;
          this.state.lastPromotion = report;
          this.versionList = await this.call<learn.VersionInfo[]>({ type: 'versions', id: 0 });
        } else {
          this.deps.log('info', `learn: round ${report.outcome}${report.reason ? `: ${report.reason}` : ''}; still serving ${this.serving ? `v${this.serving}` : 'the base model'}`);
        }
        this.state.trained += items.length;
      } catch (e) {
        report = { at: this.now(), outcome: 'failed', reason: (e as Error).message, episodes: items.length, steps: 0, ms: 0 };
        this.state.skipped.failedRound = (this.state.skipped.failedRound ?? 0) + items.length;
        this.deps.log('error', `learn: round failed: ${(e as Error).message}`);
      }
      // Used (or failed) episodes are never retried: a rejected batch would be rejected again.
      this.state.consumed.push(...inBatch);
      this.usable = this.usable.filter((u) => !inBatch.has(u.view.id));
      this.state.lastRound = report;
      await this.save();
      return report;
    } finally {
      this.busy = false;
      this.progress = undefined;
      if (this.loop === 'training' || this.loop === 'evaluating') this.setLoop('idle');
      this.deps.onBusy?.(false);
      this.reschedule();
    }
  }

  // ---- versions and rollback -----------------------------------------------------------------

  async versions(): Promise<learn.VersionInfo[]> {
    this.versionList = await this.call<learn.VersionInfo[]>({ type: 'versions', id: 0 });
    return this.withFacts();
  }

  private withFacts(): learn.VersionInfo[] {
    return [{ version: 0, valid: true }, ...this.versionList].map((v) => ({ ...this.state.versions[String(v.version)], ...v }));
  }

  /**
   * Serve `version` (0 = base; default: the newest valid version below the one serving). Waits for
   * a running round to end first, so a promotion never overrides the rollback. Remembered across restarts.
   */
  rollback(version?: number): Promise<learn.RollbackResult> {
    const run = this.queue.then(async () => {
      const from = this.serving;
      this.versionList = await this.call<learn.VersionInfo[]>({ type: 'versions', id: 0 });
      const to = version ?? Math.max(0, ...this.versionList.filter((v) => v.valid && v.version < from).map((v) => v.version));
      if (to !== 0 && !this.versionList.some((v) => v.version === to)) throw new Error(`adapter v${to} does not exist (stored: ${this.versionList.map((v) => `v${v.version}`).join(', ') || 'none'})`);
      if (to === from) return { from, to };
      const a = await this.call<AdapterPayload>({ type: 'load', id: 0, version: to }); // throws when the folder is invalid
      await this.serveAdapter(a);
      this.serving = to;
      this.state.serving = to;
      await this.save();
      this.deps.log('info', `learn: rolled back from ${from ? `v${from}` : 'base'} to ${to ? `v${to}` : 'the base model'}`);
      this.scan();
      this.push();
      return { from, to };
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- status ----------------------------------------------------------------------------------

  status(): learn.StatusResult {
    return {
      state: this.loop,
      ...(this.detail ? { detail: this.detail } : {}),
      schedule: this.settings.schedule,
      serving: this.serving,
      versions: this.withFacts(),
      pending: this.usable.length,
      ...(this.progress ?? {}),
      ...(this.state.lastRound ? { lastRound: this.state.lastRound } : {}),
      ...(this.state.lastPromotion ? { lastPromotion: this.state.lastPromotion } : {}),
      skipped: { ...this.state.skipped },
      trained: this.state.trained,
    };
  }

  private setLoop(s: learn.LoopState, detail?: string): void {
    this.loop = s;
    this.detail = detail;
    this.push();
  }

  private push(): void {
    if (!this.disposed) this.deps.onStatus?.(this.status());
  }

  private save(): Promise<void> {
    return saveState(this.file, this.state).catch((e) => this.deps.log('warn', `learn: could not save ${this.file}: ${(e as Error).message}`));
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.scanTimer) clearTimeout(this.scanTimer);
    this.unsubscribe();
    await this.worker.terminate();
    await this.save();
  }
}
