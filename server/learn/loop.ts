// The learning loop on the trainer's main thread: watches the episode store, decides when to train
// (schedule.ts), hands rounds to the learn worker thread (worker.ts; never blocks this thread),
// swaps a promoted adapter into serving with no pause (ServeArea.setAdapter), rolls back, and
// remembers the serving version and the episodes it used (state.ts). Every settled episode ends up
// trained on or skipped with a counted reason. A running round reports its progress with an ETA
// (eta.ts) and can be cancelled (a shared-memory flag the worker polls between passes); a cancelled
// round keeps nothing and its episodes wait for the next one. Leaves out JSON-RPC (handlers.ts)
// and the round itself (engine.ts).
import * as path from 'node:path';
import type { episodes, learn } from '../../protocol';
import { judge } from '../judge/judge';
import type { LoraSpec } from '../model/lora';
import { screen, type BatchItem } from './batch';
import { decideSchedule, type LearnSettings } from './schedule';
import { etaMs, msPerEpisodePass, passesDone, roundPasses } from './eta';
import { loadState, saveState, stateFile, type LearnState } from './state';
import type { AdapterPayload, FromLearnWorker, InitResult, RoundReply, ToLearnWorker } from './messages';
import { WorkerChannel, workerScript } from '../workers/channel';

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
  /** Root of the generated-files cache (server/model/modelCache.ts); '' or absent: the OS temp folder. */
  cacheDir?: string;
  store: EpisodeSource;
  serve: () => AdapterSink | undefined;
  /** Serving's count of suggestions being generated (ServeArea.busy): the training worker waits on it between passes. */
  servingBusy?: SharedArrayBuffer;
  settings: LearnSettings;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Called on every status change (learn/statusChanged). */
  onStatus?: (s: learn.StatusResult) => void;
  /** A round started (true) or ended (false): the trainer state shows 'training'. */
  onBusy?: (busy: boolean) => void;
  /** The training worker stopped by itself (the loop is in 'error'); its owner may start a new loop. */
  onWorkerExit?: (e: Error) => void;
  /** ORT threads of the training session (default 1: leave a core to the editor and serving). */
  threads?: number;
  /** How long after a round the training session is freed (default RELEASE_AFTER_MS). */
  releaseAfterMs?: number;
  now?: () => number;
}

/** Held-out episodes for the drift bound (newest settled ones outside the batch). */
const HELD_OUT = 8;
/** Earlier rounds' episodes sent along (replayed targets, held-out evidence for the gate), newest first. */
const RECENT = 32;
/** Waiting episodes outside the batch sent along as held-out evidence. */
const WAITING = 16;
/** Rounds an episode may be in before a rejection drops it (a rejected round keeps its episodes for the next). */
export const MAX_ATTEMPTS = 2;
/**
 * A round's training session is freed when no round followed it for this long: at the 0.5B geometry
 * it holds gigabytes, and building it again costs the next round seconds (bench:round measures both).
 */
export const RELEASE_AFTER_MS = 5 * 60_000;

export class LearnLoop {
  private readonly worker: WorkerChannel<ToLearnWorker, FromLearnWorker>;
  private state: LearnState;
  private readonly file: string;
  private serving = 0;
  private model = '';
  private vocabSize = 0;
  private rule: InitResult['rule'] | undefined;
  private loop: learn.LoopState = 'starting';
  private detail: string | undefined;
  private progress: { step: number; steps: number; loss?: number } | undefined;
  /** The running round: when it started, its batch size, its last progress report. */
  private round: { startedAt: number; episodes: number; steps: number; last?: { state: 'training' | 'evaluating'; step: number; steps: number } } | undefined;
  /** workerData.cancel[0] = 1 asks the running round to stop. */
  private readonly cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private cancelling = false;
  /** After a cancel, automatic rounds wait for a new suggestion (the next idle period) or "Train now". */
  private held = false;
  private versionList: learn.VersionInfo[] = [];
  private usable: BatchItem[] = [];
  private lastEpisodeAt = -Infinity;
  private busy = false;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private releaseTimer: NodeJS.Timeout | undefined;
  private unsubscribe: () => void = () => undefined;
  private disposed = false;
  private disposing: Promise<void> | undefined;
  /** False once the workspace's learning data was forgotten: nothing is written back. */
  private persist = true;
  /** The state as last read or written: an unchanged state is not written again. */
  private saved: string;
  private settings: LearnSettings;
  private readonly now: () => number;

  private constructor(private readonly deps: LoopDeps) {
    this.settings = deps.settings;
    this.now = deps.now ?? Date.now;
    this.file = stateFile(deps.storageDir);
    this.state = loadState(this.file, (m) => deps.log('warn', m));
    this.saved = JSON.stringify(this.state);
    // A worker that stops by itself rejects its pending calls (a running round reports 'failed').
    this.worker = new WorkerChannel(workerScript(__dirname, 'learnWorker.js', 'worker.ts'), {
      name: 'training',
      workerData: { cancel: this.cancelFlag.buffer, ...(deps.servingBusy ? { servingBusy: deps.servingBusy } : {}) },
      onEvent: (m) => this.onEvent(m),
      onExit: (e) => {
        deps.log('error', `learn: ${e.message}`);
        if (this.disposed) return;
        this.setLoop('error', e.message);
        deps.onWorkerExit?.(e);
      },
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
    const init = await this.call<InitResult>({ type: 'init', modelDir: this.deps.modelPath, adaptersDir, wanted: this.state.serving, threads: this.deps.threads ?? 1, ...(this.deps.cacheDir ? { cacheDir: this.deps.cacheDir } : {}) });
    this.model = init.model;
    this.vocabSize = init.vocabSize;
    this.rule = init.rule;
    for (const p of init.problems) this.deps.log('warn', `learn: adapter v${p.version} skipped on start: ${p.problem}`);
    if (init.adapter) await this.serveAdapter(init.adapter);
    this.serving = init.serving;
    if (this.state.serving !== undefined && this.state.serving !== init.serving) {
      this.deps.log('warn', `learn: remembered adapter v${this.state.serving} could not be served; serving v${init.serving} instead`);
      this.state.serving = init.serving;
      await this.save();
    }
    this.versionList = await this.call<learn.VersionInfo[]>({ type: 'versions' });
    this.deps.log('info', `learn: ready in ${this.now() - t0} ms; serving ${init.serving ? `adapter v${init.serving}` : 'the base model'} (${this.versionList.length} version(s) stored)`);
    this.unsubscribe = this.deps.store.onChange((v) => this.onEpisode(v));
    this.loop = 'idle';
    this.scan();
    this.reschedule();
    this.push();
  }

  // ---- worker calls ------------------------------------------------------------------------

  private call<T>(m: ToLearnWorker): Promise<T> {
    return this.worker.call<T>(m);
  }

  private onEvent(m: FromLearnWorker): void {
    if (m.type === 'log') return this.deps.log(m.level, `learn: ${m.message}`);
    this.progress = { step: m.step, steps: m.steps, ...(m.loss !== undefined ? { loss: m.loss } : {}) };
    if (this.round) this.round.last = { state: m.state, step: m.step, steps: m.steps };
    this.setLoop(m.state);
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
    if (v.events.length === 0) {
      this.lastEpisodeAt = Math.max(this.lastEpisodeAt, this.now());
      this.held = false;
    }
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
      const s = screen(view, j, { model: this.model, vocabSize: this.vocabSize, currentVersion: this.serving, maxStaleness: this.settings.maxStaleness, rule: this.rule });
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
    const perPass = this.state.msPerEpisodePass;
    const estimatedMs = perPass !== undefined ? perPass * Math.min(this.usable.length, this.settings.batchSize) * roundPasses(this.settings.stepsPerRound) : undefined;
    const d = decideSchedule({ settings: this.settings, pending: this.usable.length, idleMs: this.now() - this.lastEpisodeAt, busy: this.busy || this.held, ...(estimatedMs !== undefined ? { estimatedMs } : {}) });
    // A round held back for its length says so in the status (the loop stays idle).
    const tooLong = d.kind === 'no' && d.why.startsWith('a round would take') ? d.why : undefined;
    if (this.loop === 'idle' && this.detail !== tooLong) {
      this.detail = tooLong;
      this.push();
    }
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
    this.held = false;
    this.scan();
    if (this.usable.length < this.settings.minEpisodes)
      return { started: false, reason: `${this.usable.length} usable settled episode(s); a round needs at least ${this.settings.minEpisodes} (hindsight.training.minEpisodes)` };
    const report = await this.enqueueRound();
    return report ? { started: true, report } : { started: false, reason: 'nothing to train on' };
  }

  /** Asks the running round to stop at its next pass; false when none runs. */
  cancel(): boolean {
    if (!this.round || this.cancelling) return !!this.round;
    this.cancelling = true;
    Atomics.store(this.cancelFlag, 0, 1);
    this.deps.log('info', 'learn: cancelling the running round');
    this.push();
    return true;
  }

  private enqueueRound(): Promise<learn.RoundReport | undefined> {
    this.busy = true; // claimed now so the schedule does not queue a second round
    const run = this.queue.then(() => this.runRound());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runRound(): Promise<learn.RoundReport | undefined> {
    this.busy = true;
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
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
      const waiting = this.usable.slice(this.settings.batchSize, this.settings.batchSize + WAITING);
      const recent = this.recentlyTrained(inBatch);
      this.deps.onBusy?.(true);
      Atomics.store(this.cancelFlag, 0, 0);
      this.cancelling = false;
      this.round = { startedAt: this.now(), episodes: items.length, steps: this.settings.stepsPerRound };
      this.progress = { step: 0, steps: this.settings.stepsPerRound };
      this.setLoop('training');
      let report: learn.RoundReport;
      try {
        const reply = await this.call<RoundReply>({ type: 'round', req: { items, heldOut, waiting, recent, serving: this.serving, settings: this.settings } });
        report = reply.report;
        if (reply.adapter) {
          await this.serveAdapter(reply.adapter);
          this.serving = reply.adapter.version;
          this.state.serving = this.serving;
          if (reply.info) this.state.versions[String(this.serving)] = reply.info;
          this.state.lastPromotion = report;
          this.versionList = await this.call<learn.VersionInfo[]>({ type: 'versions' });
          // Facts of versions the worker pruned (hindsight.training.keepVersions) go with them.
          const stored = new Set(this.versionList.map((v) => String(v.version)));
          for (const k of Object.keys(this.state.versions)) if (!stored.has(k)) delete this.state.versions[k];
        } else {
          this.deps.log('info', `learn: round ${report.outcome}${report.reason ? `: ${report.reason}` : ''}; still serving ${this.serving ? `v${this.serving}` : 'the base model'}`);
        }
        if (report.outcome !== 'cancelled') this.state.trained += items.length;
        const perPass = msPerEpisodePass(report.ms, report.episodes, report.steps);
        if (report.outcome !== 'cancelled' && perPass !== undefined) this.state.msPerEpisodePass = perPass;
      } catch (e) {
        report = { at: this.now(), outcome: 'failed', reason: (e as Error).message, episodes: items.length, steps: 0, ms: 0 };
        this.state.skipped.failedRound = (this.state.skipped.failedRound ?? 0) + items.length;
        this.deps.log('error', `learn: round failed: ${(e as Error).message}`);
      }
      // Used (or failed) episodes are not retried. A rejected round keeps its episodes for the next
      // round (new episodes may tip the balance), MAX_ATTEMPTS rounds at most; a cancelled round used
      // nothing. After either, automatic rounds wait for a new suggestion.
      const attempts = (this.state.attempts ??= {});
      const dropped = new Set<string>();
      if (report.outcome === 'rejected')
        for (const id of inBatch) {
          attempts[id] = (attempts[id] ?? 0) + 1;
          if (attempts[id] >= MAX_ATTEMPTS) dropped.add(id);
        }
      if (report.outcome === 'cancelled' || report.outcome === 'rejected') this.held = true;
      const done = report.outcome === 'cancelled' ? new Set<string>() : report.outcome === 'rejected' ? dropped : inBatch;
      if (dropped.size) this.state.skipped.rejectedRounds = (this.state.skipped.rejectedRounds ?? 0) + dropped.size;
      for (const id of done) if (!dropped.has(id)) delete attempts[id]; // a dropped one stays marked: never replayed
      this.state.consumed.push(...done);
      this.usable = this.usable.filter((u) => !done.has(u.view.id));
      this.state.lastRound = report;
      await this.save();
      return report;
    } finally {
      this.busy = false;
      this.progress = undefined;
      this.round = undefined;
      this.cancelling = false;
      if (this.loop === 'training' || this.loop === 'evaluating') this.setLoop('idle');
      this.deps.onBusy?.(false);
      this.releaseLater();
      this.reschedule();
    }
  }

  /** Free the training session if no round starts within releaseAfterMs (queued like a round, so never during one). */
  private releaseLater(): void {
    if (this.disposed) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = undefined;
      const run = this.queue.then(async () => {
        if (this.disposed || this.busy) return;
        if (await this.call<boolean>({ type: 'release' })) this.deps.log('info', 'learn: training session freed until the next round');
      });
      this.queue = run.catch((e) => this.deps.log('warn', `learn: could not free the training session: ${(e as Error).message}`));
    }, this.deps.releaseAfterMs ?? RELEASE_AFTER_MS);
  }

  /**
   * Episodes trained on in earlier rounds (or skipped), newest first, that show the developer's own
   * text: the engine replays their targets and holds out the rest as evidence for the gate.
   */
  private recentlyTrained(exclude: Set<string>): BatchItem[] {
    const consumed = new Set(this.state.consumed);
    const refused = this.state.attempts ?? {};
    const out: BatchItem[] = [];
    for (const view of this.deps.store.query({ status: 'complete', limit: 4 * RECENT }).episodes) {
      if (out.length >= RECENT) break;
      if (!consumed.has(view.id) || exclude.has(view.id) || (refused[view.id] ?? 0) >= MAX_ATTEMPTS || view.model !== this.model || !view.tokenIds.length || !view.promptTokenIds.length) continue;
      if (![...view.promptTokenIds, ...view.tokenIds].every((id) => id >= 0 && id < this.vocabSize)) continue;
      const judgement = judge(view);
      if (judgement.target) out.push({ view, judgement, staleness: Math.abs(this.serving - view.adapterVersion) });
    }
    return out;
  }

  // ---- versions and rollback -----------------------------------------------------------------

  async versions(): Promise<learn.VersionInfo[]> {
    this.versionList = await this.call<learn.VersionInfo[]>({ type: 'versions' });
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
      this.versionList = await this.call<learn.VersionInfo[]>({ type: 'versions' });
      const to = version ?? Math.max(0, ...this.versionList.filter((v) => v.valid && v.version < from).map((v) => v.version));
      if (to !== 0 && !this.versionList.some((v) => v.version === to)) throw new Error(`adapter v${to} does not exist (stored: ${this.versionList.map((v) => `v${v.version}`).join(', ') || 'none'})`);
      if (to === from) return { from, to };
      const a = await this.call<AdapterPayload>({ type: 'load', version: to }); // throws when the folder is invalid
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
      ...this.roundTiming(),
      ...(this.state.lastRound ? { lastRound: this.state.lastRound } : {}),
      ...(this.state.lastPromotion ? { lastPromotion: this.state.lastPromotion } : {}),
      skipped: { ...this.state.skipped },
      trained: this.state.trained,
    };
  }

  /** When the running round started, its ETA (once measurable) and whether a cancel is pending. */
  private roundTiming(): Pick<learn.StatusResult, 'roundStartedAt' | 'etaMs' | 'cancelling'> {
    const r = this.round;
    if (!r) return {};
    const eta = etaMs({ elapsedMs: this.now() - r.startedAt, done: passesDone(r.last), total: roundPasses(r.steps), episodes: r.episodes, msPerEpisodePass: this.state.msPerEpisodePass });
    return { roundStartedAt: r.startedAt, ...(eta !== undefined ? { etaMs: eta } : {}), ...(this.cancelling ? { cancelling: true } : {}) };
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
    const json = JSON.stringify(this.state);
    if (!this.persist || json === this.saved) return Promise.resolve();
    return saveState(this.file, this.state).then(
      () => void (this.saved = json),
      (e) => this.deps.log('warn', `learn: could not save ${this.file}: ${(e as Error).message}`),
    );
  }

  /**
   * Stops the worker and saves the state; `persist: false` (the data was forgotten) writes nothing.
   * Cooperative: a running round is cancelled at its next step and answered before the worker
   * releases its session and leaves (never terminated under onnxruntime). Once only.
   */
  dispose(opts: { persist?: boolean } = {}): Promise<void> {
    if (opts.persist === false) this.persist = false;
    this.disposing ??= (async () => {
      this.disposed = true;
      for (const t of [this.timer, this.scanTimer, this.releaseTimer]) if (t) clearTimeout(t);
      this.unsubscribe();
      Atomics.store(this.cancelFlag, 0, 1);
      if ((await this.worker.close()) === 'left running') this.deps.log('warn', 'learn: the training worker is still finishing a step; it will leave by itself');
      await this.queue; // the cancelled round's own bookkeeping
      await this.save();
    })();
    return this.disposing;
  }
}
