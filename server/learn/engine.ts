// One training round, start to end, on the model folder: the policy is the adapter serving now;
// build the batch (rewards + OPD with the base model as teacher), K optimizer steps, then the
// promotion gate; a promoted candidate is written as the next AdapterStore version (atomic; the
// oldest beyond hindsight.training.keepVersions are pruned), a rejected one is undone (parameters
// and optimizer moments restored). Runs inside the learn worker thread (worker.ts); tests drive it
// directly. Leaves out scheduling and serving (loop.ts).
//
// Scoring (OPD teacher, drift) reuses the train-step session with the LoRA values swapped: zero
// A and B is exactly the base model. That graph computes the LM head on the response rows only,
// so scoring a 1,024-token prompt does not materialise 1,024 × 151,936 logits as the score graph
// would; the cost is a backward pass that is thrown away.
import type { learn } from '../../protocol';
import { openModelFolder, type ModelFolder } from '../model/folder';
import { loadTokenizer, type ModelTokenizer } from '../model/tokenizer';
import { defaultCacheRoot, modelCacheDir } from '../model/modelCache';
import { DEFAULT_SERVE_LORA } from '../model/forwardSession';
import type { LoraSpec } from '../model/lora';
import { initAdapter, validateAdapter, type Adapter } from '../train/adapter';
import { AdapterStore } from '../train/adapterStore';
import { Trainer } from '../train/step';
import type { AdamWState } from '../train/optimizer';
import type { Scorer } from '../train/opd';
import { DEFAULT_OBJECTIVE } from '../train/objective';
import { buildBatch, buildTargetRows, prefixSegment, setPairWeights, targetTokens, type BatchItem, type TargetRow } from './batch';
import { decide, decidePreference, meanAbsDelta, type HeldOutScore } from './gate';
import { ruleFromEnv, type LearnRule } from './rule';
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
  /** Root of the generated-files cache (see server/model/modelCache.ts); default: the OS temp folder. */
  cacheDir?: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** The learning rule (default: HINDSIGHT_LEARN_RULE, else the hindsight rule; see rule.ts). */
  rule?: LearnRule;
  /** Called before each training or scoring pass (see TrainerOptions.beforeRun). */
  beforeRun?: () => void;
}

export interface RoundRequest {
  items: BatchItem[];
  /** Recent (context, response) pairs not in the batch, for the drift bound; the batch is used when empty. */
  heldOut: { context: number[]; response: number[] }[];
  /** Settled usable episodes waiting outside this batch (never trained on): held-out evidence for the gate. */
  waiting?: BatchItem[];
  /** Episodes trained on in earlier rounds, newest first: replayed targets, and held-out evidence when not replayed. */
  recent?: BatchItem[];
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

/** Held-out episodes of each kind (waiting, earlier rounds') the preference gate scores. */
const HELD_OUT_GATE = 8;
/** Rows packed into one right-padded run of at most this many tokens (fewer, larger session runs). */
const PACK_TOKENS = 2048;

export type Progress = (p: { state: 'training' | 'evaluating'; step: number; steps: number; loss?: number }) => void;

export class LearnEngine {
  /** Version whose values are in the trainer's parameters. */
  private policy: number;
  /**
   * The training session, built for the first round or score, not at start: at the 0.5B geometry
   * it holds the full-precision weights (gigabytes) and takes seconds of CPU while serving loads,
   * and a workspace whose rounds never run (manual schedule, no corrections) never needs it.
   */
  private building: Promise<Trainer> | undefined;
  private built: Trainer | undefined;
  /** A released session's adapter values and Adam moments, put back when it is built again. */
  private kept: { adapter: Adapter; moments: AdamWState } | undefined;

  private constructor(
    readonly folder: ModelFolder,
    readonly tok: ModelTokenizer,
    readonly store: AdapterStore,
    private readonly makeTrainer: (adapter: Adapter) => Promise<Trainer>,
    readonly spec: LoraSpec,
    readonly resolved: Resolved,
    private readonly log: NonNullable<EngineOptions['log']>,
    readonly rule: LearnRule,
  ) {
    this.policy = resolved.version;
  }

  /** The training session (after the first round or score; see `building`). */
  get trainer(): Trainer {
    if (!this.built) throw new Error('the training session is built for the first round or score');
    return this.built;
  }

  private ensureTrainer(): Promise<Trainer> {
    this.building ??= (async () => {
      const t0 = performance.now();
      // The policy's values (a rollback before the first round already moved it), or where a
      // released session left them.
      const kept = this.kept;
      const t = await this.makeTrainer(kept?.adapter ?? this.load(this.policy) ?? initAdapter(this.folder.cfg, this.spec, this.folder.name, 0));
      if (kept) t.optimizer.load(kept.moments);
      this.kept = undefined;
      this.log('info', `training session built in ${Math.round(performance.now() - t0)} ms`);
      this.built = t;
      return t;
    })();
    return this.building;
  }

  static async create(modelDir: string, o: EngineOptions): Promise<LearnEngine> {
    const log = o.log ?? (() => undefined);
    const folder = openModelFolder(modelDir);
    const tok = loadTokenizer(folder.dir, folder.cfg.eosTokenId);
    const store = new AdapterStore(o.adaptersDir, { log });
    const resolved = resolveServing(store, folder.cfg, folder.name, o.wanted);
    for (const p of resolved.problems) log('warn', `adapter v${p.version} was not loaded: ${p.problem}`);
    const spec = resolved.adapter?.spec ?? o.spec ?? DEFAULT_SERVE_LORA;
    const weights = { tensors: folder.tensors, mode: 'external' as const, modelFileDir: modelCacheDir(o.cacheDir || defaultCacheRoot(), folder, log) };
    const rule = o.rule ?? ruleFromEnv();
    const objective = { ...DEFAULT_OBJECTIVE, kind: rule.objective };
    const makeTrainer = (adapter: Adapter) => Trainer.create(folder.cfg, weights, { spec, adapter, intraOpThreads: o.intraOpThreads ?? 1, objective, packTokens: PACK_TOKENS, beforeRun: o.beforeRun });
    if (rule.name !== 'hindsight') log('info', `learning rule: ${rule.name} (HINDSIGHT_LEARN_RULE)`);
    return new LearnEngine(folder, tok, store, makeTrainer, spec, resolved, log, rule);
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
    const a = this.load(version) ?? initAdapter(this.folder.cfg, this.spec, this.folder.name, 0);
    for (const [name, p] of this.trainer.params) p.set(a.tensors.get(name)!);
    const zeros = () => new Map([...this.trainer.params].map(([k, p]) => [k, new Float32Array(p.length)]));
    this.trainer.optimizer.load({ step: 0, m: zeros(), v: zeros() });
    this.policy = version;
  }

  /** log π of each response under `tensors` (undefined = the base model), parameters restored after. */
  async scoreUnder(tensors: Map<string, Float32Array> | undefined, pairs: { context: number[]; response: number[] }[]): Promise<number[][]> {
    return (await this.ensureTrainer()).logprobsWith(tensors, pairs);
  }

  readonly scorer: Scorer = { score: async (context, target, adapter) => (await this.scoreUnder(adapter, [{ context, response: target }]))[0] };

  /**
   * One round. `progress` hears step 0 once the batch is prepared, then each step, then
   * 'evaluating'. `stop` is polled between passes: when it says so the round ends 'cancelled' with
   * nothing kept (parameters and optimizer moments restored, no version written).
   */
  async round(req: RoundRequest, progress: Progress = () => undefined, stop: () => boolean = () => false): Promise<RoundResult> {
    const t0 = Date.now();
    const s = req.settings;
    await this.ensureTrainer();
    this.setPolicy(req.serving);
    const rule = this.rule;
    const inRound = new Set(req.items.map((i) => i.view.id));
    const replay = rule.replay > 0 ? (req.recent ?? []).filter((i) => !inRound.has(i.view.id) && i.judgement.target).slice(0, rule.replay) : [];
    const score = (pairs: { context: number[]; response: number[] }[], adapter?: Map<string, Float32Array>) => this.scoreUnder(adapter, pairs);
    // Held-out code for the gate: this round's files (at most 4). Anchors: earlier rounds' other files
    // only (bench:learn: anchoring on this round's files too let general code drift past 2 %).
    const gateCode = codeFiles([...req.items, ...(req.waiting ?? [])], 4);
    const anchors = (req.recent ?? []).filter((i) => !inRound.has(i.view.id) && !gateCode.some((g) => g.view.relPath === i.view.relPath));
    const rows: TargetRow[] | undefined = rule.objective === 'nll' ? await buildTargetRows(req.items, replay, rule, this.tok, score, this.folder.cfg.maxPositions, anchors) : undefined;
    const batch = rows
      ? rows.map((r) => ({ ...r, reward: undefined, hint: undefined, staleness: req.items.find((i) => i.view.id === r.id)?.staleness ?? 0, preferred: r.role === 'target' }))
      : await buildBatch(req.items, this.scorer, this.tok, 1, this.trainer.adapter().tensors, { wRl: rule.wRl, wOpd: rule.wOpd });
    const report = (r: Partial<learn.RoundReport> & Pick<learn.RoundReport, 'outcome'>): learn.RoundReport => ({ at: Date.now(), episodes: req.items.length, steps: 0, ms: Date.now() - t0, ...r });
    if (!batch.length) return { report: report({ outcome: 'failed', reason: rows ? 'nothing to learn from: no episode shows the developer\'s text' : 'no usable episodes in the batch' }) };
    const cancelled = (steps: number): RoundResult => ({ report: report({ outcome: 'cancelled', reason: 'cancelled from the editor', steps }) });
    if (stop()) return cancelled(0);

    // Snapshot, so a rejected candidate leaves no trace (values and Adam moments).
    const params = new Map([...this.trainer.params].map(([k, p]) => [k, p.slice()]));
    const st = this.trainer.optimizer.state();
    const moments: AdamWState = { step: st.step, m: cloneMap(st.m), v: cloneMap(st.v) };
    const undo = () => {
      for (const [k, p] of this.trainer.params) p.set(params.get(k)!);
      this.trainer.optimizer.load(moments);
    };

    this.trainer.optimizer.cfg.lr = s.learningRate;
    // The pair term starts at σ(0) = ½ (as if the policy were the base model); from the second step on
    // its weights follow the policy, recomputed from the previous pass's log-probs (one step behind).
    if (rows) setPairWeights(rows, rows.map((r) => [r.ref ?? 0]), rule);
    const before = await this.trainer.evaluate(batch);
    let steps = s.stepsPerRound;
    let applied = 0;
    let last = before;
    let candidate: Adapter;
    let after: Awaited<ReturnType<Trainer['evaluate']>> | undefined;
    let d: { promote: boolean; reason?: string; drift?: number; preferredDelta?: number };
    let gateFacts: Partial<learn.RoundReport> = {};
    // A candidate the preference gate refuses only for forgetting code gets one more try from the
    // same start with half the steps (a smaller step, not a different direction).
    for (let attempt = 0; ; attempt++) {
      progress({ state: 'training', step: 0, steps });
      applied = 0;
      last = before;
      const skippedSteps: string[] = [];
      if (rows && attempt > 0) setPairWeights(rows, rows.map((r) => [r.ref ?? 0]), rule);
      for (let k = 0; k < steps; k++) {
        if (stop()) {
          undo();
          return cancelled(k);
        }
        // The pair term's weights follow the policy: recomputed from the previous pass's log-probs.
        if (rows && k > 0) setPairWeights(rows, last.logprobs, rule);
        const ev = k === 0 ? before : await this.trainer.evaluate(batch);
        const r = this.trainer.optimizer.apply(ev.grads.sum, ev.loss);
        last = ev;
        if (r.applied) applied++;
        else skippedSteps.push(r.reason);
        progress({ state: 'training', step: k + 1, steps, loss: ev.loss });
      }
      if (!applied) {
        undo();
        return { report: report({ outcome: 'failed', steps: 0, reason: `no optimizer step applied (${skippedSteps[0]})`, lossBefore: before.loss }) };
      }

      if (stop()) {
        undo();
        return cancelled(steps);
      }
      progress({ state: 'evaluating', step: steps, steps });
      candidate = this.trainer.adapter();
      let invalid: string | undefined;
      try {
        validateAdapter(candidate, this.folder.cfg, 'candidate');
      } catch (e) {
        invalid = (e as Error).message;
      }
      // The batch's log-probs after the round: the drift gate's evidence (the preference gate does not need them).
      after = rule.gate === 'drift' ? await this.trainer.evaluate(batch) : undefined;
      if (rule.gate === 'preference') {
        const g = await this.preferenceGate(req, inRound, replay, gateCode, candidate.tensors, invalid, s.maxBpbRegression);
        d = g;
        gateFacts = { heldOutEpisodes: g.episodes, heldOutPairs: g.pairs, winsBefore: g.winsServing, winsAfter: g.winsCandidate, bpbRegression: g.bpbRegression, ...(g.marginServing !== undefined ? { marginBefore: g.marginServing, marginAfter: g.marginCandidate } : {}), ...(g.targetServing !== undefined ? { targetBefore: g.targetServing, targetAfter: g.targetCandidate } : {}), ...(g.earlierPairs ? { earlierPairs: g.earlierPairs, earlierMarginBefore: g.earlierMarginServing, earlierMarginAfter: g.earlierMarginCandidate } : {}) };
        if (!g.promote && g.forgets && attempt === 0 && steps > 1) {
          this.log('info', `candidate refused (${g.reason}); trying again with ${Math.ceil(steps / 2)} steps`);
          undo();
          steps = Math.ceil(steps / 2);
          continue;
        }
      } else {
        const held = req.heldOut.length ? req.heldOut : batch;
        const drift = invalid ? NaN : meanAbsDelta(await this.scoreUnder(candidate.tensors, held), await this.scoreUnder(undefined, held));
        d = decide(
          { invalid, drift, batch: batch.map((e, i) => ({ preferred: e.preferred, advantages: e.advantages, before: before.logprobs[i], after: after!.logprobs[i] })) },
          { maxDrift: s.maxDrift, tolerance: 0 },
        );
      }
      break;
    }
    const facts = { steps: applied, maxStaleness: Math.max(...batch.map((e) => e.staleness)), lossBefore: before.loss, ...(after ? { lossAfter: after.loss } : {}), ...(d.drift !== undefined ? { drift: d.drift } : {}), ...(d.preferredDelta !== undefined ? { preferredDelta: d.preferredDelta } : {}), ...gateFacts };
    if (!d.promote) {
      undo();
      return { report: report({ outcome: 'rejected', reason: d.reason, ...facts }) };
    }
    const parent = this.policy;
    const version = this.store.write(candidate, this.folder.cfg, { parent: String(parent), episodes: String(req.items.length) });
    this.policy = version;
    const info = { createdAt: Date.now(), parent, episodes: req.items.length, loss: after?.loss ?? last.loss, ...(d.drift !== undefined ? { drift: d.drift } : {}) };
    this.servingScores.clear();
    this.log('info', `adapter v${version} promoted (parent v${parent}, ${batch.length} rows, loss ${before.loss.toFixed(4)} → ${(after?.loss ?? last.loss).toFixed(4)}${d.drift !== undefined ? `, drift ${d.drift.toFixed(4)}` : ''}${gateFacts.heldOutEpisodes ? `, held-out: wins ${gateFacts.winsBefore} → ${gateFacts.winsAfter} of ${gateFacts.heldOutPairs}, log π/token ${gateFacts.targetBefore?.toFixed(3)} → ${gateFacts.targetAfter?.toFixed(3)}` : ''}${gateFacts.bpbRegression !== undefined ? `, code bits per byte ${(gateFacts.bpbRegression * 100).toFixed(2)} % vs base` : ''})`);
    this.prune(version, parent, s.keepVersions);
    return { report: report({ outcome: 'promoted', version, ...facts }), adapter: candidate, info };
  }

  /**
   * Retention after a promotion: the newest `keep` versions stay (0: all), and so do the one now
   * serving and its parent (the policy it was trained from, even when a rollback made that an old
   * one). Never fails the round: a folder that cannot be deleted is logged and kept.
   */
  private prune(serving: number, parent: number, keep: number): void {
    let pruned: number[];
    try {
      pruned = this.store.prune(keep, [serving, parent]);
    } catch (e) {
      this.log('warn', `old adapter versions were not pruned: ${(e as Error).message}`);
      return;
    }
    if (pruned.length) this.log('info', `pruned adapter version(s) ${pruned.map((v) => `v${v}`).join(', ')}: hindsight.training.keepVersions is ${keep} (serving v${serving}${parent ? `, its parent v${parent}` : ''} kept)`);
  }

  /** Held-out scores under the serving adapter, by episode id (valid while the policy stays). */
  private readonly servingScores = new Map<string, HeldOutScore>();
  private servingScoresOf = -1;
  /** Base-model bits per byte of a code sample, by the sample's episode ids. */
  private readonly baseBpb = new Map<string, number>();

  /**
   * The gate on the goal (gate.ts decidePreference). Held-out episodes: those outside this round's
   * rows that show the developer's text — waiting ones (never trained on) first, then earlier
   * rounds' not replayed now, at most HELD_OUT_GATE each. Held-out code: the prefix of up to 4
   * of this round's prompts from different files, scored as plain text — never an anchor.
   */
  private async preferenceGate(req: RoundRequest, inRound: Set<string>, replay: BatchItem[], gateCode: BatchItem[], candidate: Map<string, Float32Array>, invalid: string | undefined, maxBpbRegression: number) {
    const trained = new Set([...inRound, ...replay.map((i) => i.view.id)]);
    const usable = (list: BatchItem[] | undefined) => (list ?? []).filter((i) => !trained.has(i.view.id) && i.judgement.target);
    const toPairs = (list: BatchItem[]) => list.flatMap((i) => {
      const t = i.judgement.target!;
      const ids = targetTokens(t.text, { text: i.view.suggestion, ids: i.view.tokenIds, healed: i.view.healed }, i.view.promptTokenIds.length, this.folder.cfg.maxPositions, this.tok);
      const rejected = t.rejected !== undefined && i.view.tokenIds.length ? i.view.tokenIds : undefined;
      return ids.length ? [{ id: i.view.id, context: i.view.promptTokenIds, target: ids, rejected }] : [];
    });
    const held = toPairs([...usable(req.waiting).slice(0, HELD_OUT_GATE), ...usable(req.recent).slice(0, HELD_OUT_GATE)]);
    const earlier = toPairs(replay.filter((i) => i.judgement.target?.rejected !== undefined));
    const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
    const scores = async (tensors: Map<string, Float32Array> | undefined, list: typeof held): Promise<HeldOutScore[]> => {
      if (!list.length) return [];
      const rows = list.flatMap((h) => [{ context: h.context, response: h.target }, ...(h.rejected ? [{ context: h.context, response: h.rejected }] : [])]);
      const lp = await this.scoreUnder(tensors, rows);
      let k = 0;
      return list.map((h) => {
        const target = sum(lp[k++]);
        return { target, tokens: h.target.length, ...(h.rejected ? { margin: target - sum(lp[k++]) } : {}) };
      });
    };
    if (this.servingScoresOf !== this.policy) {
      this.servingScores.clear();
      this.servingScoresOf = this.policy;
    }
    const missing = [...held, ...earlier].filter((h) => !this.servingScores.has(h.id));
    const serving = this.policy ? this.load(this.policy)?.tensors : undefined;
    (await scores(serving, missing)).forEach((x, k) => this.servingScores.set(missing[k].id, x));
    const both = invalid ? [...held, ...earlier].map(() => ({ target: NaN, tokens: 1 })) : await scores(candidate, [...held, ...earlier]);
    const cand = both.slice(0, held.length);

    // Held-out code: the prefix text of recent prompts, one per file.
    const code = gateCode.map((i) => this.tok.encode(prefixSegment(i.view.promptTokenIds, this.tok)).slice(-400)).filter((ids) => ids.length > 8);
    const key = gateCode.map((i) => i.view.id).join(',');
    const bytes = code.reduce((n, ids) => n + Buffer.byteLength(this.tok.decode(ids.slice(1))), 0);
    const bpbOf = async (tensors: Map<string, Float32Array> | undefined) => {
      const lp = await this.scoreUnder(tensors, code.map((ids) => ({ context: ids.slice(0, 1), response: ids.slice(1) })));
      return -sum(lp.flat()) / Math.LN2 / Math.max(1, bytes);
    };
    if (!this.baseBpb.has(key)) this.baseBpb.set(key, code.length ? await bpbOf(undefined) : 1);
    const bpbBase = this.baseBpb.get(key)!;
    const bpbCandidate = invalid ? NaN : code.length ? await bpbOf(candidate) : bpbBase;
    return decidePreference(
      {
        invalid, serving: held.map((h) => this.servingScores.get(h.id)!), candidate: cand, bpbBase, bpbCandidate,
        ...(earlier.length ? { earlier: { serving: earlier.map((h) => this.servingScores.get(h.id)!), candidate: both.slice(held.length) } } : {}),
      },
      { maxBpbRegression, marginTolerance: this.rule.marginTolerance, targetTolerance: this.rule.targetTolerance },
    );
  }

  async release(): Promise<void> {
    const t = await this.building?.catch(() => undefined);
    this.building = undefined;
    this.built = undefined;
    await t?.release();
  }

  /**
   * Gives the training session's memory back between rounds (bench:round, 0.5B geometry: gigabytes
   * of weights cast to float32, twice, for the train and score sessions). The adapter values and
   * Adam moments stay here, and the next round or score builds the session again with them, as
   * the first one did. False when no session was built.
   */
  async releaseTrainer(): Promise<boolean> {
    const t = await this.building?.catch(() => undefined);
    if (!t) return false;
    const st = t.optimizer.state();
    this.kept = { adapter: t.adapter(), moments: { step: st.step, m: cloneMap(st.m), v: cloneMap(st.v) } };
    await this.release();
    return true;
  }
}

/** One item per file, in order, at most `n`. */
function codeFiles(items: BatchItem[], n: number): BatchItem[] {
  const files = new Map<string, BatchItem>();
  for (const i of items) if (!files.has(i.view.relPath) && files.size < n) files.set(i.view.relPath, i);
  return [...files.values()];
}

function cloneMap(m: Map<string, Float32Array | Float64Array>): Map<string, Float32Array | Float64Array> {
  return new Map([...m].map(([k, v]) => [k, v.slice()]));
}
