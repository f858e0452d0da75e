// One training round, start to end, on the model folder: the policy is the adapter serving now;
// build the batch (rewards + OPD with the base model as teacher), K optimizer steps, then the
// promotion gate; a promoted candidate is written as the next AdapterStore version (atomic), a
// rejected one is undone (parameters and optimizer moments restored). Runs inside the learn
// worker thread (worker.ts); tests drive it directly. Leaves out scheduling and serving (loop.ts).
//
// Scoring (OPD teacher, drift) reuses the train-step session with the LoRA values swapped: zero
// A and B is exactly the base model. That graph computes the LM head on the response rows only,
// so scoring a 1,024-token prompt does not materialise 1,024 × 151,936 logits as the score graph
// would; the cost is a backward pass that is thrown away.
import * as os from 'node:os';
import * as path from 'node:path';
import type { learn } from '../../protocol';
import { openModelFolder, type ModelFolder } from '../model/folder';
import { loadTokenizer, type ModelTokenizer } from '../model/tokenizer';
import { modelFileDir, weightFiles } from '../model/session';
import { DEFAULT_SERVE_LORA } from '../model/forwardSession';
import type { LoraSpec } from '../model/lora';
import { AdapterStore, initAdapter, validateAdapter, type Adapter } from '../train/adapter';
import { Trainer, type TrainEpisode } from '../train/step';
import type { AdamWState } from '../train/optimizer';
import type { Scorer } from '../train/opd';
import { buildBatch, type BatchItem } from './batch';
import { decide, meanAbsDelta } from './gate';
import { resolveServing, listVersions, type Resolved } from './versions';
import type { LearnSettings } from './schedule';

export interface EngineOptions {
  /** Folder of the AdapterStore (versions v0001, …). */
  adaptersDir: string;
  /** Version remembered as serving (undefined: the newest valid one). */
  wanted?: number;
  /** LoRA geometry for a fresh adapter (default: the serving graph's, so swaps need no rebuild). */
  spec?: LoraSpec;
  intraOpThreads?: number;
  cacheDir?: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface RoundRequest {
  items: BatchItem[];
  /** Recent (context, response) pairs not in the batch, for the drift bound; the batch is used when empty. */
  heldOut: { context: number[]; response: number[] }[];
  /** Adapter version serving now: the policy this round starts from. */
  serving: number;
  settings: LearnSettings;
}

export interface RoundResult {
  report: learn.RoundReport;
  /** The promoted adapter (to serve), when promoted. */
  adapter?: Adapter;
  /** Facts recorded for the promoted version. */
  info?: Omit<learn.VersionInfo, 'valid' | 'version'>;
}

export type Progress = (p: { state: 'training' | 'evaluating'; step: number; steps: number; loss?: number }) => void;

export class LearnEngine {
  /** Version whose values are in the trainer's parameters. */
  private policy: number;

  private constructor(
    readonly folder: ModelFolder,
    readonly tok: ModelTokenizer,
    readonly store: AdapterStore,
    readonly trainer: Trainer,
    readonly resolved: Resolved,
    private readonly log: NonNullable<EngineOptions['log']>,
  ) {
    this.policy = resolved.version;
  }

  static async create(modelDir: string, o: EngineOptions): Promise<LearnEngine> {
    const log = o.log ?? (() => undefined);
    const folder = openModelFolder(modelDir);
    const tok = loadTokenizer(folder.dir, folder.cfg.eosTokenId);
    const store = new AdapterStore(o.adaptersDir);
    const resolved = resolveServing(store, folder.cfg, folder.name, o.wanted);
    for (const p of resolved.problems) log('warn', `adapter v${p.version} was not loaded: ${p.problem}`);
    const spec = resolved.adapter?.spec ?? o.spec ?? DEFAULT_SERVE_LORA;
    const cacheDir = o.cacheDir ?? path.join(os.tmpdir(), 'hindsight-models', folder.name);
    const weights = { tensors: folder.tensors, mode: 'external' as const, modelFileDir: modelFileDir(folder.dir, cacheDir, weightFiles(folder.tensors)) };
    const adapter = resolved.adapter ?? initAdapter(folder.cfg, spec, folder.name, 0);
    const trainer = await Trainer.create(folder.cfg, weights, { spec, adapter, intraOpThreads: o.intraOpThreads ?? 1 });
    return new LearnEngine(folder, tok, store, trainer, resolved, log);
  }

  get modelName(): string {
    return this.folder.name;
  }

  versions(): learn.VersionInfo[] {
    return listVersions(this.store, this.folder.cfg, this.folder.name);
  }

  /** Load and validate one version (0 = base: no adapter). Throws with the folder's problem. */
  load(version: number): Adapter | undefined {
    if (version === 0) return undefined;
    return this.store.load(version, this.folder.cfg, { baseModel: this.folder.name });
  }

  /** Put `version`'s values into the trainer (fresh optimizer moments: they belonged to another policy). */
  private setPolicy(version: number): void {
    if (version === this.policy) return;
    const a = this.load(version) ?? initAdapter(this.folder.cfg, this.trainer.opts.spec!, this.folder.name, 0);
    for (const [name, p] of this.trainer.params) p.set(a.tensors.get(name)!);
    const zeros = () => new Map([...this.trainer.params].map(([k, p]) => [k, new Float32Array(p.length)]));
    this.trainer.optimizer.load({ step: 0, m: zeros(), v: zeros() });
    this.policy = version;
  }

  /** log π of each response under `tensors` (undefined = the base model), parameters restored after. */
  async scoreUnder(tensors: Map<string, Float32Array> | undefined, pairs: { context: number[]; response: number[] }[]): Promise<number[][]> {
    if (!pairs.length) return [];
    const saved = new Map([...this.trainer.params].map(([k, p]) => [k, p.slice()]));
    try {
      for (const [name, p] of this.trainer.params) {
        const v = tensors?.get(name);
        if (v) p.set(v);
        else p.fill(0);
      }
      const zeros = (n: number) => new Array<number>(n).fill(0);
      const eps: TrainEpisode[] = pairs.map((x) => ({ context: x.context, response: x.response, behaviourLogprobs: zeros(x.response.length), advantages: zeros(x.response.length) }));
      return (await this.trainer.evaluate(eps)).logprobs;
    } finally {
      for (const [name, p] of this.trainer.params) p.set(saved.get(name)!);
    }
  }

  readonly scorer: Scorer = { score: async (context, target, adapter) => (await this.scoreUnder(adapter, [{ context, response: target }]))[0] };

  async round(req: RoundRequest, progress: Progress = () => undefined): Promise<RoundResult> {
    const t0 = Date.now();
    const s = req.settings;
    this.setPolicy(req.serving);
    const batch = await buildBatch(req.items, this.scorer, this.tok, 1, this.trainer.adapter().tensors);
    const report = (r: Partial<learn.RoundReport> & Pick<learn.RoundReport, 'outcome'>): learn.RoundReport => ({ at: Date.now(), episodes: batch.length, steps: 0, ms: Date.now() - t0, ...r });
    if (!batch.length) return { report: report({ outcome: 'failed', reason: 'no usable episodes in the batch' }) };

    // Snapshot, so a rejected candidate leaves no trace (values and Adam moments).
    const params = new Map([...this.trainer.params].map(([k, p]) => [k, p.slice()]));
    const st = this.trainer.optimizer.state();
    const moments: AdamWState = { step: st.step, m: cloneMap(st.m), v: cloneMap(st.v) };
    const undo = () => {
      for (const [k, p] of this.trainer.params) p.set(params.get(k)!);
      this.trainer.optimizer.load(moments);
    };

    this.trainer.optimizer.cfg.lr = s.learningRate;
    const before = await this.trainer.evaluate(batch);
    let applied = 0;
    const skippedSteps: string[] = [];
    for (let k = 0; k < s.stepsPerRound; k++) {
      const r = await this.trainer.step(batch);
      if (r.report.applied) applied++;
      else skippedSteps.push(r.report.reason);
      progress({ state: 'training', step: k + 1, steps: s.stepsPerRound, loss: r.loss });
    }
    if (!applied) {
      undo();
      return { report: report({ outcome: 'failed', steps: 0, reason: `no optimizer step applied (${skippedSteps[0]})`, lossBefore: before.loss }) };
    }

    progress({ state: 'evaluating', step: s.stepsPerRound, steps: s.stepsPerRound });
    const candidate = this.trainer.adapter();
    let invalid: string | undefined;
    try {
      validateAdapter(candidate, this.folder.cfg, 'candidate');
    } catch (e) {
      invalid = (e as Error).message;
    }
    const after = await this.trainer.evaluate(batch);
    const held = req.heldOut.length ? req.heldOut : batch;
    const drift = invalid ? NaN : meanAbsDelta(await this.scoreUnder(candidate.tensors, held), await this.scoreUnder(undefined, held));
    const d = decide(
      { invalid, drift, batch: batch.map((e, i) => ({ preferred: e.preferred, advantages: e.advantages, before: before.logprobs[i], after: after.logprobs[i] })) },
      { maxDrift: s.maxDrift, tolerance: 0 },
    );
    const facts = { steps: applied, maxStaleness: Math.max(...batch.map((e) => e.staleness)), lossBefore: before.loss, lossAfter: after.loss, drift: d.drift, ...(d.preferredDelta !== undefined ? { preferredDelta: d.preferredDelta } : {}) };
    if (!d.promote) {
      undo();
      return { report: report({ outcome: 'rejected', reason: d.reason, ...facts }) };
    }
    const parent = this.policy;
    const version = this.store.write(candidate, this.folder.cfg, { parent: String(parent), episodes: String(batch.length) });
    this.policy = version;
    const info = { createdAt: Date.now(), parent, episodes: batch.length, loss: after.loss, drift: d.drift };
    this.log('info', `adapter v${version} promoted (parent v${parent}, ${batch.length} episodes, loss ${before.loss.toFixed(4)} → ${after.loss.toFixed(4)}, drift ${d.drift.toFixed(4)})`);
    return { report: report({ outcome: 'promoted', version, ...facts }), adapter: candidate, info };
  }

  release(): Promise<void> {
    return this.trainer.release();
  }
}

function cloneMap(m: Map<string, Float32Array | Float64Array>): Map<string, Float32Array | Float64Array> {
  return new Map([...m].map(([k, v]) => [k, v.slice()]));
}
