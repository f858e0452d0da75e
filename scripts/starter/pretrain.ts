// Pretrains the Hindsight Starter with the project's own graph trainer: a Qwen2-architecture
// model, full-parameter (every weight is a graph input with a generated backward pass), the
// weighted-likelihood objective at weight 1, AdamW with warmup + cosine and gradient clipping.
// Rows mix causal LM, fill-in-the-middle (PSM, SPM) and hint-following FIM (examples.ts).
// Checkpoints atomically every few minutes and resumes after a kill; deterministic for a seed.
// Ends by writing the 16-bit model folder that ships.
//
// Usage: npm run starter:pretrain -- [--minutes 100 | --steps N] [--run .cache/starter/run]
//          [--corpus .cache/starter/corpus] [--tokenizer models/hindsight-starter]
//          [--out models/hindsight-starter] [--threads 2] [--fresh] [--smoke]
//        npm run starter:pretrain -- --export-only --out DIR   (the latest checkpoint as a model folder)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTokenizer, type ModelTokenizer } from '../../server/model/tokenizer';
import { openWeights, readSafetensorsHeader, readTensorF32, writeSafetensors, type TensorToWrite } from '../../server/model/safetensors';
import type { ModelConfig } from '../../server/model/config';
import { Trainer, type TrainEpisode } from '../../server/train/step';
import { seededRandom } from '../../server/train/random';
import { matmulGflops } from '../../bench/roofline';
import { ANNEAL, CONTEXT, DEFAULT_RECIPE, MIX, SERVING, flopsPerToken, paramCount, starterConfig, type TrainRecipe } from './recipe';
import { initialWeights, writeModelFolder } from './init';
import { SERVING_FILE } from '../../server/model/folder';
import { permutation, RowBuilder, type Doc, type SpecialIds, type StreamCursor } from './examples';
import { readCorpus } from './corpusFile';

interface RunState {
  step: number;
  totalSteps: number;
  tokens: number;
  elapsedMs: number;
  cursor: StreamCursor;
  seed: number;
  config: ModelConfig;
  context: number;
  recipe: TrainRecipe;
  lossEma?: number;
  heldoutLoss?: number;
}

const CHECKPOINT_EVERY_MS = 4 * 60_000;
/** Last step at which a time budget may still move the cosine horizon. */
const FIX_HORIZON_AT = 300;

function args(argv: string[]) {
  const get = (k: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  return {
    smoke,
    fresh: argv.includes('--fresh'),
    /** Write the latest checkpoint as a model folder to --out and stop (for work against a run in progress). */
    exportOnly: argv.includes('--export-only'),
    minutes: Number(get('minutes') ?? (smoke ? 0 : 100)),
    steps: get('steps') ? Number(get('steps')) : smoke ? 3 : undefined,
    run: get('run') ?? (smoke ? path.join(os.tmpdir(), `starter-smoke-${process.pid}`) : '.cache/starter/run'),
    corpus: get('corpus') ?? '.cache/starter/corpus',
    tokenizer: get('tokenizer') ?? 'models/hindsight-starter',
    out: get('out') ?? (smoke ? undefined : 'models/hindsight-starter'),
    threads: Number(get('threads') ?? Math.min(2, os.cpus().length)),
  };
}

/** The special ids the rows need, by name; a tokenizer without them cannot train FIM. */
export function specialIds(tok: ModelTokenizer): SpecialIds {
  const id = (s: string) => {
    const v = tok.tokenId(s);
    if (v === undefined) throw new Error(`tokenizer has no ${s} token; train one with npm run starter:tokenizer`);
    return v;
  };
  return { eos: id('<|endoftext|>'), prefix: id('<|fim_prefix|>'), suffix: id('<|fim_suffix|>'), middle: id('<|fim_middle|>') };
}

/** Rows → trainer episodes: every token after the first is a target of weight 1. */
function episodes(rows: number[][]): TrainEpisode[] {
  return rows.map((ids) => {
    const response = ids.slice(1);
    const ones = response.map(() => 1);
    return { context: [ids[0]], response, behaviourLogprobs: ones, advantages: ones };
  });
}

const fmtTime = (ms: number) => {
  const m = Math.round(ms / 60_000);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}m`;
};

/** Write params + moments + state into `dir` atomically (a temp folder renamed into place). */
function saveCheckpoint(dir: string, tr: Trainer, state: RunState): void {
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const table = (m: Map<string, Float32Array | Float64Array>): Record<string, TensorToWrite> =>
    Object.fromEntries([...m].map(([k, v]) => [k, { dtype: 'F32', shape: [v.length], data: v instanceof Float32Array ? v : Float32Array.from(v) }]));
  const opt = tr.optimizer.state();
  writeSafetensors(path.join(tmp, 'params.safetensors'), table(tr.params));
  writeSafetensors(path.join(tmp, 'adam_m.safetensors'), table(opt.m));
  writeSafetensors(path.join(tmp, 'adam_v.safetensors'), table(opt.v));
  fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify({ ...state, optimizerStep: opt.step }, null, 2));
  const old = `${dir}.old`;
  fs.rmSync(old, { recursive: true, force: true });
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  fs.rmSync(old, { recursive: true, force: true });
}

function loadCheckpoint(dir: string, tr: Trainer): RunState & { optimizerStep: number } {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as RunState & { optimizerStep: number };
  const table = (file: string) => {
    const tensors = readSafetensorsHeader(path.join(dir, file)).tensors;
    return new Map([...tr.params.keys()].map((k) => {
      const t = tensors.get(k);
      if (!t) throw new Error(`checkpoint ${file}: ${k} is missing`);
      return [k, readTensorF32(t)];
    }));
  };
  const params = table('params.safetensors');
  for (const [k, p] of tr.params) p.set(params.get(k)!);
  tr.optimizer.load({ step: state.optimizerStep, m: table('adam_m.safetensors'), v: table('adam_v.safetensors') });
  return state;
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  const recipe: TrainRecipe = a.smoke ? { ...DEFAULT_RECIPE, rowsPerStep: 2, rowsPerRun: 2, warmupSteps: 1 } : DEFAULT_RECIPE;
  const context = a.smoke ? 64 : CONTEXT;
  const cfg = a.smoke ? starterConfig({ hiddenSize: 64, numLayers: 2, numHeads: 1, numKvHeads: 1, intermediateSize: 128, maxPositions: context }) : starterConfig();

  const tok = loadTokenizer(a.tokenizer, cfg.eosTokenId);
  const ids = specialIds(tok);
  if (ids.eos !== cfg.eosTokenId[0]) throw new Error(`tokenizer's <|endoftext|> is ${ids.eos}, the config expects ${cfg.eosTokenId[0]}`);
  if (tok.maxId >= cfg.vocabSize) throw new Error(`tokenizer ids reach ${tok.maxId}, beyond the model's vocabulary of ${cfg.vocabSize}`);
  const encode = (t: string) => tok.encode(t);

  const t0 = performance.now();
  const train: Doc[] = readCorpus(path.join(a.corpus, 'train.jsonl'), a.smoke ? 200 : undefined);
  const heldout: Doc[] = readCorpus(path.join(a.corpus, 'heldout.jsonl'), 64);
  console.log(`[pretrain] corpus: ${train.length} training documents (${(train.reduce((s, d) => s + d.text.length, 0) / 1e6).toFixed(1)} M chars), read in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // The initial weights define the graph (shapes, names); training feeds its own copies.
  const initDir = path.join(a.run, 'init');
  const ckptDir = path.join(a.run, 'checkpoint');
  if (a.fresh) fs.rmSync(a.run, { recursive: true, force: true });
  if (!fs.existsSync(path.join(initDir, 'model.safetensors'))) writeModelFolder(initDir, cfg, initialWeights(cfg, recipe.seed));
  const tr = await Trainer.create(cfg, { tensors: openWeights(initDir), mode: 'external', modelFileDir: initDir }, {
    trainBase: true,
    objective: { kind: 'nll', clipLow: 0.2, clipHigh: 0.28, klBeta: 0 },
    packTokens: recipe.rowsPerRun * context,
    intraOpThreads: a.threads,
    optimizer: {
      lr: recipe.lr, betas: recipe.betas, weightDecay: recipe.weightDecay, maxGradNorm: recipe.maxGradNorm,
      schedule: { kind: 'cosine', warmupSteps: recipe.warmupSteps, totalSteps: Math.max(recipe.warmupSteps + 1, a.steps ?? 1_000_000), minLrRatio: recipe.minLrRatio },
      noDecay: (name) => /norm|bias/.test(name),
    },
  });

  let state: RunState = { step: 0, totalSteps: a.steps ?? 0, tokens: 0, elapsedMs: 0, cursor: { doc: 0, token: 0 }, seed: recipe.seed, config: cfg, context, recipe };
  if (fs.existsSync(path.join(ckptDir, 'state.json'))) {
    state = loadCheckpoint(ckptDir, tr);
    if (JSON.stringify(state.config) !== JSON.stringify(cfg)) throw new Error(`checkpoint in ${ckptDir} is for another model shape; rerun with --fresh to start over`);
    console.log(`[pretrain] resumed at step ${state.step}/${state.totalSteps} (${(state.tokens / 1e6).toFixed(2)} M tokens, ${fmtTime(state.elapsedMs)} trained)`);
  }

  if (a.exportOnly) {
    if (!a.out || !state.step) throw new Error('--export-only needs --out DIR and a checkpoint in the run folder');
    exportModel(a.out, a.tokenizer, cfg, tr, state);
    return;
  }
  const order = permutation(train.length, seededRandom(recipe.seed));
  const rows = new RowBuilder(train, order, encode, ids, context + 1, recipe.seed, state.cursor);
  // Fixed held-out rows (plain causal LM over held-out packages) for the loss the log reports.
  const heldRows = new RowBuilder(heldout, heldout.map((_, i) => i), encode, ids, context + 1, 0);
  const evalRows = Array.from({ length: a.smoke ? 1 : 4 }, (_, k) => heldRows.row(k, () => () => 0.99).ids);

  const roofline = await matmulGflops(a.threads);
  const flopsTok = flopsPerToken(cfg, context);
  console.log(`[pretrain] model: ${(paramCount(cfg) / 1e6).toFixed(2)} M parameters, ${cfg.numLayers} layers × ${cfg.hiddenSize}, vocab ${cfg.vocabSize}, context ${context}; ${(flopsTok / 1e6).toFixed(1)} MFLOP/token; MatMul roofline ${roofline.toFixed(0)} GFLOP/s on ${a.threads} threads`);

  const applyTotal = (n: number) => {
    state.totalSteps = n;
    tr.optimizer.cfg.schedule.totalSteps = Math.max(recipe.warmupSteps + 1, n);
  };
  if (state.totalSteps) applyTotal(state.totalSteps);
  const logFile = path.join(a.run, 'log.jsonl');
  let lastCkpt = performance.now();
  let windowStart = performance.now(), windowTokens = 0;
  const runStart = performance.now() - state.elapsedMs;
  const paceMs: number[] = [];

  const heldoutLoss = async () => (await tr.evaluate(episodes(evalRows))).loss;
  if (state.step === 0) console.log(`[pretrain] held-out loss at init ${(await heldoutLoss()).toFixed(3)} (ln V = ${Math.log(cfg.vocabSize).toFixed(3)})`);

  while (!state.totalSteps || state.step < state.totalSteps) {
    const s0 = performance.now();
    const batch: number[][] = [];
    const mix = state.totalSteps && state.step >= Math.floor(ANNEAL.fromFraction * state.totalSteps) ? ANNEAL.mix : MIX;
    if (mix === ANNEAL.mix && state.step === Math.floor(ANNEAL.fromFraction * state.totalSteps)) console.log(`[pretrain] step ${state.step}: annealing on FIM-heavy rows from here`);
    for (let k = 0; k < recipe.rowsPerStep; k++) batch.push(rows.row(state.step * recipe.rowsPerStep + k, seededRandom, mix).ids);
    const res = await tr.step(episodes(batch));
    const stepMs = performance.now() - s0;
    if (!res.report.applied) console.warn(`[pretrain] step ${state.step + 1} skipped: ${res.report.reason}`);
    state.step++;
    state.tokens += res.tokens;
    state.cursor = rows.cursor;
    state.lossEma = state.lossEma === undefined ? res.loss : 0.95 * state.lossEma + 0.05 * res.loss;
    state.elapsedMs = performance.now() - runStart;
    windowTokens += res.tokens;
    // A time budget sets the step count from the pace so far, re-estimated early on (the cosine
    // horizon may move while the learning rate is still near its peak) and then fixed.
    paceMs.push(stepMs);
    if (a.steps === undefined && a.minutes > 0 && (state.step === 5 || (state.step % 50 === 0 && state.step <= FIX_HORIZON_AT))) {
      const recent = paceMs.slice(-50).sort((x, y) => x - y)[Math.floor(Math.min(50, paceMs.length) / 2)];
      applyTotal(Math.max(state.step + 1, state.step + Math.floor((a.minutes * 60_000 - state.elapsedMs) / recent)));
    }

    const last = state.step === state.totalSteps;
    if (state.step % 10 === 0 || last || a.smoke) {
      const secs = (performance.now() - windowStart) / 1000;
      const tokS = windowTokens / secs;
      const gflops = (tokS * flopsTok) / 1e9;
      const eta = state.totalSteps ? ((state.totalSteps - state.step) * (secs * 1000)) / Math.max(1, windowTokens / (recipe.rowsPerStep * context)) : NaN;
      const lr = res.report.applied ? res.report.lr : 0;
      if (state.step % 100 === 0 || last) state.heldoutLoss = await heldoutLoss();
      console.log(
        `[pretrain] step ${state.step}/${state.totalSteps || '?'} · loss ${res.loss.toFixed(3)} (ema ${state.lossEma.toFixed(3)}${state.heldoutLoss !== undefined ? `, held-out ${state.heldoutLoss.toFixed(3)}` : ''}) · ` +
          `${tokS.toFixed(0)} tok/s · ${gflops.toFixed(0)} GFLOP/s = ${((100 * gflops) / roofline).toFixed(0)}% of MatMul roofline · lr ${lr.toExponential(2)} · ` +
          `${(state.tokens / 1e6).toFixed(2)} M tokens · ${fmtTime(state.elapsedMs)} elapsed${Number.isFinite(eta) ? `, ETA ${fmtTime(eta)}` : ''}`,
      );
      fs.appendFileSync(logFile, JSON.stringify({ step: state.step, loss: res.loss, ema: state.lossEma, heldout: state.heldoutLoss, tok_s: tokS, gflops, roofline, lr, tokens: state.tokens, elapsed_ms: state.elapsedMs }) + '\n');
      windowStart = performance.now();
      windowTokens = 0;
    }
    if (performance.now() - lastCkpt > CHECKPOINT_EVERY_MS || last) {
      saveCheckpoint(ckptDir, tr, state);
      lastCkpt = performance.now();
    }
  }

  if (a.out) exportModel(a.out, a.tokenizer, cfg, tr, state);
  else console.log(`[pretrain] done: ${state.step} steps, ${state.tokens} tokens, final loss ${state.lossEma?.toFixed(3)}`);
  await tr.release();
  if (a.smoke) fs.rmSync(a.run, { recursive: true, force: true });
}

/** The shipped folder: 16-bit weights, config, tokenizer, and what the run saw. */
function exportModel(out: string, tokenizerDir: string, cfg: ModelConfig, tr: Trainer, state: RunState): void {
  writeModelFolder(out, cfg, tr.params, 'F16', { trained_by: 'hindsight scripts/starter/pretrain.ts' });
  if (path.resolve(tokenizerDir) !== path.resolve(out))
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tokenizerDir, f), path.join(out, f));
  const summary = { params: paramCount(cfg), steps: state.step, train_tokens: state.tokens, train_minutes: Math.round(state.elapsedMs / 60_000), final_loss_ema: state.lossEma, heldout_loss: state.heldoutLoss, context: state.context, recipe: state.recipe };
  fs.writeFileSync(path.join(out, 'training.json'), JSON.stringify(summary, null, 2) + '\n');
  fs.writeFileSync(path.join(out, SERVING_FILE), JSON.stringify(SERVING, null, 2) + '\n');
  console.log(`[pretrain] wrote ${out}: ${JSON.stringify(summary)}`);
}

if (require.main === module)
  main().catch((e) => {
    console.error(`[pretrain] ${(e as Error).stack ?? e}`);
    process.exit(1);
  });
