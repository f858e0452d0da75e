// One training step as one ONNX graph, then the Trainer around it. The graph reads top to
// bottom: decoder forward (LoRA A/B as inputs) → LM head on the response positions only →
// log π of the taken tokens → OpenClaw-RL loss → backward to every trainable input (autodiff).
// The Trainer feeds episodes, sums their gradients, clips, applies AdamW, bumps the adapter
// version and writes it in PEFT format. Leaves out: choosing episodes and computing advantages.
//
// Dimension letters: B batch (1 per episode), T tokens, C hidden, V vocab, N scored tokens.
import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../graph/builder';
import { gradients } from '../autodiff/gradients';
import type { ModelConfig } from '../model/config';
import { buildDecoder, type WeightSet } from '../model/decoder';
import { loraTensors, type LoraSpec } from '../model/lora';
import { readTensorF64 } from '../model/safetensors';
import { writeModelFile } from '../model/session';
import { buildObjective, DEFAULT_OBJECTIVE, OBJECTIVE_INPUTS, type ObjectiveConfig } from './objective';
import { AdamW, GradAccumulator, type AdamWConfig, type StepReport } from './optimizer';
import type { Adapter } from './adapter';
import { AdapterStore } from './adapterStore';

export type TrainDType = 'float32' | 'float64';

export interface TrainGraphOptions {
  dtype: TrainDType;
  /** LoRA mode: gradients w.r.t. the A/B inputs. */
  lora?: LoraSpec;
  /** Full fine-tuning: the base weights become graph inputs and are trained (tiny models, tests). */
  trainBase?: boolean;
  objective?: ObjectiveConfig;
  /**
   * Scoring only: the forward pass and the response head's token log-probs, no objective and no
   * backward (a third of the work). For LoRA mode; the parameters stay graph inputs.
   */
  scoreOnly?: boolean;
}

export interface ParamSpec {
  name: string;
  shape: number[];
  /** The input's dtype: the compute dtype for LoRA, the stored dtype for base weights. */
  dtype: TrainDType;
}

export interface TrainGraph {
  graph: Graph;
  /** Trainable inputs, in a stable order; gradient outputs are `grad.<name>`. */
  params: ParamSpec[];
  opts: TrainGraphOptions;
}

/** Graph input/output names the Trainer feeds and reads. */
export const TRAIN_IO = {
  responsePositions: 'response_positions', // int64 [N]: flat index b·T + t whose next token is scored
  responseTargets: 'response_targets', // int64 [N]: the token taken at that position
  lossMask: 'loss_mask', // [N]: 1 for real tokens, 0 for padding
  loss: 'loss',
  clipFraction: 'clip_fraction',
  tokenLogprobs: 'token_logprobs', // [N]: log π of the targets under the fed parameters
  grad: (name: string) => `grad.${name}`,
} as const;

/** Build the train-step graph: forward, head on response positions, loss, backward. */
export function buildTrainGraph(cfg: ModelConfig, weights: WeightSet, opts: TrainGraphOptions): TrainGraph {
  if (!opts.lora && !opts.trainBase) throw new Error('buildTrainGraph: nothing to train (give lora and/or trainBase)');
  const g = new Graph(`${cfg.architecture}_train`);
  const dt = opts.dtype;
  // 'last' keeps the decoder's own head to one position; the loss uses the head below instead.
  const dec = buildDecoder(g, cfg, weights, { dtype: dt, lora: opts.lora, cache: false, logits: 'last' });
  const positions = g.input(TRAIN_IO.responsePositions, 'int64', ['N']);
  const targets = g.input(TRAIN_IO.responseTargets, 'int64', ['N']);
  const mask = g.input(TRAIN_IO.lossMask, dt, ['N']);
  const logp = g.scope('response_head', () => {
    const rows = g.gather(g.reshape(dec.hidden, [-1, cfg.hiddenSize]), positions, 0); // [N, C]
    const logits = headLogits(g, cfg, weights, rows, dt); // [N, V]
    const picked = g.gatherElements(g.logSoftmax(logits, -1), g.unsqueeze(targets, [1]), 1); // [N, 1]
    return g.squeeze(picked, [1]); // [N]
  });
  const params: ParamSpec[] = [];
  if (opts.scoreOnly) {
    if (opts.trainBase) throw new Error('buildTrainGraph: scoreOnly is for LoRA mode (the base weights stay initialisers)');
    for (const t of loraTensors(cfg, opts.lora!)) params.push({ name: t.name, shape: t.shape, dtype: dt });
    g.output(logp, TRAIN_IO.tokenLogprobs);
    pruneDeadNodes(g);
    return { graph: g, params, opts };
  }
  const obj = buildObjective(g, logp, mask, opts.objective ?? DEFAULT_OBJECTIVE);

  if (opts.lora) for (const t of loraTensors(cfg, opts.lora)) params.push({ name: t.name, shape: t.shape, dtype: dt });
  if (opts.trainBase)
    for (const name of baseWeightNames(g, weights)) params.push({ name, shape: promoteToInput(g, name), dtype: g.values.get(name)!.dtype as TrainDType });
  for (const p of params) g.trainable.add(p.name);
  const wrt = params.map((p) => g.values.get(p.name)!);
  const grads = gradients(g, obj.loss, wrt);

  g.output(obj.loss, TRAIN_IO.loss);
  g.output(obj.clipFraction, TRAIN_IO.clipFraction);
  g.output(logp, TRAIN_IO.tokenLogprobs);
  for (const p of params) g.output(grads.get(p.name)!, TRAIN_IO.grad(p.name));
  pruneDeadNodes(g);
  return { graph: g, params, opts };
}

/**
 * Drop nodes whose outputs reach no graph output (ORT runs every node it is given): here the
 * decoder's one-position head, a [C]·[C,V] product that reads the whole embedding each step.
 */
export function pruneDeadNodes(g: Graph): number {
  const needed = new Set(g.outputs.map((o) => o.name));
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    keep[i] = true;
    for (const x of n.inputs) if (x) needed.add(x);
  }
  const live = g.nodes.filter((_, i) => keep[i]);
  const dropped = g.nodes.length - live.length;
  g.nodes.splice(0, g.nodes.length, ...live);
  const inits = g.initializers.filter((t) => needed.has(t.name));
  g.initializers.splice(0, g.initializers.length, ...inits);
  return dropped;
}

/** logits = rows · Wᵀ with the LM head (or the tied embedding), as the decoder's lm_head does. */
function headLogits(g: Graph, cfg: ModelConfig, weights: WeightSet, rows: Value, dt: TrainDType): Value {
  const name = cfg.tieWordEmbeddings || !weights.tensors.has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const w = g.values.get(name);
  if (!w) throw new Error(`train graph: ${name} was not declared by the decoder`);
  let y = g.matmul(rows, g.transpose(g.cast(w, dt), [1, 0])); // [N, V]
  const bias = g.values.get('lm_head.bias');
  if (bias && name === 'lm_head.weight') y = g.add(y, g.cast(bias, dt));
  return y;
}

/** Float initialisers that came from the checkpoint (not the graph's own constants). */
function baseWeightNames(g: Graph, weights: WeightSet): string[] {
  return g.initializers.filter((t) => weights.tensors.has(t.name) && ['float32', 'float64'].includes(t.dtype)).map((t) => t.name);
}

/** Turn an initialiser into a graph input (ORT only lets inputs change between runs). */
function promoteToInput(g: Graph, name: string): number[] {
  const i = g.initializers.findIndex((t) => t.name === name);
  const [t] = g.initializers.splice(i, 1);
  g.inputs.push(g.values.get(name)!);
  return t.dims;
}

// ---- episodes ----------------------------------------------------------------------------

/** One scored sequence: the context, the response, and per response token the RL inputs. */
export interface TrainEpisode {
  context: number[];
  response: number[];
  /** log π_behaviour(y_t): what the serving policy gave each response token. */
  behaviourLogprobs: number[];
  /** A_t per response token (opd.ts combines reward and OPD). */
  advantages: number[];
  /** log π_ref(y_t), needed when the objective's klBeta > 0. */
  refLogprobs?: number[];
}

function checkEpisode(e: TrainEpisode, i: number, cfg: ModelConfig): void {
  const n = e.response.length;
  const where = `episode ${i}`;
  if (!e.context.length) throw new Error(`${where}: context must hold at least one token`);
  if (!n) throw new Error(`${where}: empty response`);
  for (const [k, arr] of [['behaviourLogprobs', e.behaviourLogprobs], ['advantages', e.advantages], ['refLogprobs', e.refLogprobs]] as const)
    if (arr && arr.length !== n) throw new Error(`${where}: ${k} has ${arr.length} entries for ${n} response tokens`);
  for (const id of [...e.context, ...e.response])
    if (!Number.isInteger(id) || id < 0 || id >= cfg.vocabSize) throw new Error(`${where}: token id ${id} outside the vocabulary (0..${cfg.vocabSize - 1})`);
}

// ---- the trainer -------------------------------------------------------------------------

export interface TrainerOptions {
  dtype?: TrainDType;
  /** LoRA geometry; omit (with trainBase) for full-parameter training such as pretraining. */
  spec?: LoraSpec;
  /** Starting adapter (PEFT init or a loaded version); required with `spec`. */
  adapter?: Adapter;
  objective?: ObjectiveConfig;
  optimizer?: Partial<AdamWConfig>;
  /** Write every applied step as a new version here (optional). */
  store?: AdapterStore;
  /** Also train the base weights (full fine-tuning; tiny models only). */
  trainBase?: boolean;
  /** Pack episodes into right-padded runs of at most this many B·T tokens (default 0: one per run). */
  packTokens?: number;
  intraOpThreads?: number;
  /** Called before each session run (the learn worker waits there while a suggestion is being generated). */
  beforeRun?: () => void;
}

export interface TrainStepResult {
  report: StepReport;
  /** Batch token-mean loss before the update. */
  loss: number;
  clipFraction: number;
  tokens: number;
  /** Adapter version written (when a store is set and the step applied). */
  version?: number;
}

type FloatArray = Float32Array | Float64Array;

export class Trainer {
  readonly params = new Map<string, FloatArray>();
  readonly optimizer: AdamW;
  /** The forward-only session logprobsWith uses (LoRA mode), built on first use. */
  private scoring: Promise<ort.InferenceSession> | undefined;
  private constructor(
    readonly cfg: ModelConfig,
    readonly graph: TrainGraph,
    readonly session: ort.InferenceSession,
    readonly opts: TrainerOptions,
    readonly dtype: TrainDType,
    private readonly weights: WeightSet,
  ) {
    for (const p of graph.params) {
      const Arr = p.dtype === 'float64' ? Float64Array : Float32Array;
      const lora = opts.adapter?.tensors.get(p.name);
      const values = lora ?? readTensorF64(weights.tensors.get(p.name)!);
      this.params.set(p.name, Arr.from(values));
    }
    this.optimizer = new AdamW(this.params, opts.optimizer);
  }

  static async create(cfg: ModelConfig, weights: WeightSet, opts: TrainerOptions): Promise<Trainer> {
    const dtype = opts.dtype ?? 'float32';
    if (opts.spec && !opts.adapter) throw new Error('Trainer: a LoRA spec needs a starting adapter');
    const tg = buildTrainGraph(cfg, weights, { dtype, lora: opts.spec, trainBase: opts.trainBase, objective: opts.objective });
    const bytes = tg.graph.encode();
    const model = weights.mode === 'external' ? writeModelFile(weights.modelFileDir!, 'train', bytes) : bytes;
    const so = Trainer.sessionOptions(dtype, opts.intraOpThreads);
    const session = typeof model === 'string' ? await ort.InferenceSession.create(model, so) : await ort.InferenceSession.create(model, so);
    return new Trainer(cfg, tg, session, opts, dtype, weights);
  }

  private static sessionOptions(dtype: TrainDType, threads?: number): ort.InferenceSession.SessionOptions {
    // float64: ORT's extended fusions turn x·sigmoid(x) into a float-only kernel (see model/session.ts).
    // No memory arena: a train step's activations are freed after the run instead of kept by the
    // process for good (bench:round, 0.5B geometry: 17.3 → 9.7 GB resident after a round, the round
    // no slower).
    return { graphOptimizationLevel: dtype === 'float64' ? 'basic' : 'all', enableCpuMemArena: false, ...(threads ? { intraOpNumThreads: threads } : {}) };
  }

  /** The score-only session (LoRA mode), or undefined in full-parameter mode (the train session scores). */
  private scoreSession(): Promise<ort.InferenceSession> | undefined {
    if (!this.opts.spec || this.opts.trainBase) return undefined;
    this.scoring ??= (async () => {
      const sg = buildTrainGraph(this.cfg, this.weights, { dtype: this.dtype, lora: this.opts.spec, scoreOnly: true });
      const bytes = sg.graph.encode();
      const so = Trainer.sessionOptions(this.dtype, this.opts.intraOpThreads);
      return this.weights.mode === 'external' ? ort.InferenceSession.create(writeModelFile(this.weights.modelFileDir!, 'score', bytes), so) : ort.InferenceSession.create(bytes, so);
    })();
    return this.scoring;
  }

  /** The current LoRA values as an Adapter (float32, PEFT names). */
  adapter(): Adapter {
    if (!this.opts.spec || !this.opts.adapter) throw new Error('Trainer.adapter(): this trainer has no LoRA adapter (full-parameter mode)');
    const tensors = new Map<string, Float32Array>();
    for (const t of loraTensors(this.cfg, this.opts.spec)) tensors.set(t.name, Float32Array.from(this.params.get(t.name)!));
    return { spec: this.opts.spec, tensors, baseModel: this.opts.adapter.baseModel };
  }

  /**
   * Feeds for a group of episodes packed as one right-padded [B, T] run (the causal mask keeps
   * real tokens blind to the padding after them); `norm` is the whole batch's token count.
   */
  feeds(group: TrainEpisode[], norm: number, inputNames: readonly string[] = this.session.inputNames): Record<string, ort.Tensor> {
    const B = group.length;
    const T = Math.max(...group.map((e) => e.context.length + e.response.length - 1));
    const ids = new BigInt64Array(B * T), pos = new BigInt64Array(B * T);
    const rowsAt: number[] = [], targets: number[] = [], behaviour: number[] = [], adv: number[] = [], ref: number[] = [];
    group.forEach((e, b) => {
      const all = [...e.context, ...e.response];
      for (let t = 0; t < T; t++) {
        ids[b * T + t] = BigInt(t < all.length - 1 ? all[t] : 0); // padding token id 0, never scored
        pos[b * T + t] = BigInt(t);
      }
      e.response.forEach((y, k) => {
        rowsAt.push(b * T + e.context.length - 1 + k); // the row whose next token is y
        targets.push(y);
        behaviour.push(e.behaviourLogprobs[k]);
        adv.push(e.advantages[k]);
        ref.push(e.refLogprobs?.[k] ?? 0);
      });
    });
    const N = rowsAt.length;
    const i64 = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [xs.length]);
    const F = this.dtype === 'float64' ? Float64Array : Float32Array;
    const f = (xs: ArrayLike<number>, dims: number[]) => new ort.Tensor(this.dtype, F.from(xs), dims);
    const feeds: Record<string, ort.Tensor> = {};
    const all: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
      position_ids: new ort.Tensor('int64', pos, [B, T]),
      [TRAIN_IO.responsePositions]: i64(rowsAt),
      [TRAIN_IO.responseTargets]: i64(targets),
      [TRAIN_IO.lossMask]: f(new F(N).fill(1), [N]),
      [OBJECTIVE_INPUTS.behaviourLogprobs]: f(behaviour, [N]),
      [OBJECTIVE_INPUTS.advantages]: f(adv, [N]),
      [OBJECTIVE_INPUTS.lossNorm]: f([norm], []),
    };
    if ((this.opts.objective?.klBeta ?? 0) > 0) {
      if (group.some((e) => !e.refLogprobs)) throw new Error('objective has klBeta > 0 but an episode has no refLogprobs');
      all[OBJECTIVE_INPUTS.refLogprobs] = f(ref, [N]);
    }
    for (const p of this.graph.params) all[p.name] = new ort.Tensor(p.dtype, this.params.get(p.name)!, p.shape);
    // Feed only what the graph declares (the likelihood objective has no behaviour input).
    for (const name of inputNames) if (all[name]) feeds[name] = all[name];
    return feeds;
  }

  /**
   * Episodes grouped into runs of at most `packTokens` padded tokens (B·T), in order. Packing
   * trades padding for larger matrix products; one episode per run when packTokens is 0.
   */
  private groups(batch: TrainEpisode[]): TrainEpisode[][] {
    const limit = this.opts.packTokens ?? 0;
    const out: TrainEpisode[][] = [];
    let cur: TrainEpisode[] = [], maxT = 0;
    for (const e of batch) {
      const T = e.context.length + e.response.length - 1;
      const nextMax = Math.max(maxT, T);
      if (cur.length && nextMax * (cur.length + 1) > limit) {
        out.push(cur);
        cur = [];
        maxT = 0;
      }
      cur.push(e);
      maxT = Math.max(maxT, T);
    }
    if (cur.length) out.push(cur);
    return out;
  }

  /**
   * log π of each response with the trainable parameters set to `tensors` (a missing one, or no
   * map at all, is zero: for a LoRA adapter, the base model); the current parameters come back after.
   */
  async logprobsWith(tensors: Map<string, Float32Array> | undefined, pairs: { context: number[]; response: number[] }[]): Promise<number[][]> {
    if (!pairs.length) return [];
    const scoring = this.scoreSession();
    if (scoring) return this.scoreForward(await scoring, tensors, pairs);
    const saved = new Map([...this.params].map(([k, p]) => [k, p.slice()]));
    try {
      for (const [name, p] of this.params) {
        const v = tensors?.get(name);
        if (v) p.set(v);
        else p.fill(0);
      }
      const zeros = (n: number) => new Array<number>(n).fill(0);
      return (await this.evaluate(pairs.map((x) => ({ context: x.context, response: x.response, behaviourLogprobs: zeros(x.response.length), advantages: zeros(x.response.length) })))).logprobs;
    } finally {
      for (const [name, p] of this.params) p.set(saved.get(name)!);
    }
  }

  /** Token log-probs from the score-only session: the LoRA inputs fed from `tensors` (missing = zero), nothing else touched. */
  private async scoreForward(session: ort.InferenceSession, tensors: Map<string, Float32Array> | undefined, pairs: { context: number[]; response: number[] }[]): Promise<number[][]> {
    const zeros = (n: number) => new Array<number>(n).fill(0);
    const batch: TrainEpisode[] = pairs.map((x) => ({ context: x.context, response: x.response, behaviourLogprobs: zeros(x.response.length), advantages: zeros(x.response.length) }));
    batch.forEach((e, i) => checkEpisode(e, i, this.cfg));
    const F = this.dtype === 'float64' ? Float64Array : Float32Array;
    const lora = new Map(this.graph.params.map((p) => [p.name, new ort.Tensor(p.dtype, tensors?.get(p.name) ? F.from(tensors.get(p.name)!) : new F(p.shape[0] * p.shape[1]), p.shape)]));
    const out: number[][] = [];
    for (const group of this.groups(batch)) {
      const feeds = this.feeds(group, 1, session.inputNames);
      for (const [name, t] of lora) if (name in feeds) feeds[name] = t;
      this.opts.beforeRun?.();
      const lp = (await session.run(feeds))[TRAIN_IO.tokenLogprobs].data as FloatArray;
      let at = 0;
      for (const e of group) {
        out.push(Array.from(lp.subarray(at, at + e.response.length)));
        at += e.response.length;
      }
    }
    return out;
  }

  /** Loss, gradients and token log-probs of a batch at the current parameters (no update). */
  async evaluate(batch: TrainEpisode[]): Promise<{ loss: number; clipFraction: number; tokens: number; grads: GradAccumulator; logprobs: number[][] }> {
    batch.forEach((e, i) => checkEpisode(e, i, this.cfg));
    const tokens = batch.reduce((s, e) => s + e.response.length, 0);
    const acc = new GradAccumulator(new Map(this.graph.params.map((p) => [p.name, this.params.get(p.name)!.length])));
    let clip = 0;
    const logprobs: number[][] = [];
    for (const group of this.groups(batch)) {
      this.opts.beforeRun?.();
      const out = await this.session.run(this.feeds(group, tokens));
      const grads = new Map(this.graph.params.map((p) => [p.name, out[TRAIN_IO.grad(p.name)].data as FloatArray]));
      acc.add(grads, Number(out[TRAIN_IO.loss].data[0]));
      clip += Number(out[TRAIN_IO.clipFraction].data[0]);
      const lp = out[TRAIN_IO.tokenLogprobs].data as FloatArray;
      let at = 0;
      for (const e of group) {
        logprobs.push(Array.from(lp.subarray(at, at + e.response.length)));
        at += e.response.length;
      }
    }
    return { loss: acc.nonFinite ? NaN : acc.loss, clipFraction: clip, tokens, grads: acc, logprobs };
  }

  /** One optimizer step on a batch; writes a new adapter version when a store is set. */
  async step(batch: TrainEpisode[]): Promise<TrainStepResult> {
    const ev = await this.evaluate(batch);
    const report = this.optimizer.apply(ev.grads.sum, ev.loss);
    const res: TrainStepResult = { report, loss: ev.loss, clipFraction: ev.clipFraction, tokens: ev.tokens };
    if (report.applied && this.opts.store) res.version = this.opts.store.write(this.adapter(), this.cfg, { optimizer_step: String(report.step) });
    return res;
  }

  async release(): Promise<void> {
    const scoring = this.scoring;
    this.scoring = undefined;
    await (await scoring?.catch(() => undefined))?.release();
    await this.session.release();
  }
}
