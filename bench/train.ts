// LoRA train-step throughput (forward + backward + AdamW) on generated models: the tiny preset
// and Qwen2.5-Coder-0.5B's geometry with random weights (a stated number of layers), at 128 and
// 512 tokens, against the same run's measured MatMul roofline; plus AdamW in TS vs in-graph.
// Each (model, seq) runs in a child process so peak RSS is its own, and re-measures MatMul after
// its steps; the roofline is the best MatMul rate of the whole run. Checks the step is right
// (finite loss, the adapter moves) before timing. Also scoring, as a learning round scores (the OPD
// teacher, the gate): the forward-only session against a train step's forward + backward, which is
// what scoring cost before it had its own session. Prints a table, then one JSON line.
// Usage: npm run bench:train [-- --layers N --steps N --threads N]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph } from '../server/graph/builder';
import { openWeights } from '../server/model/safetensors';
import { LORA_TARGETS, loraTensors, type LoraSpec } from '../server/model/lora';
import type { ModelConfig } from '../server/model/config';
import { Trainer, type TrainEpisode } from '../server/train/step';
import { initAdapter } from '../server/train/adapter';
import { AdamW } from '../server/train/optimizer';
import { seededRandom } from '../server/train/random';
import { makeModel, PRESETS } from '../scripts/make-model';
import { matmulGflops } from './roofline';

const SPEC: LoraSpec = { rank: 16, alpha: 32, targets: [...LORA_TARGETS] };
/** Scored (response) tokens per episode; the rest of the sequence is context. */
const RESPONSE = 32;
/** [sequence length, episodes per step packed into one run]: the spec's two rows, plus a packed batch. */
const RUNS: [number, number][] = [[128, 1], [512, 1], [128, 4]];

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};

/**
 * FLOPs of one step. Forward: every projection 2·T·in·out (+ LoRA 2·T·r·(in+out)), attention
 * 4·T·S·H·D (QKᵀ and PV over the full square, as the graph computes it), head 2·N·V·C.
 * Backward: frozen projections and the head need dX only (1× forward), LoRA needs dX, dA, dB
 * (2× forward), attention dQ, dK, dV, dP (2× forward). Elementwise work is not counted.
 */
function stepFlops(cfg: ModelConfig, T: number, N: number): number {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, vocabSize: V } = cfg;
  const proj = [[C, H * D], [C, KV * D], [C, KV * D], [H * D, C], [C, I], [C, I], [I, C]];
  let base = 0, lora = 0;
  for (const [i, o] of proj) {
    base += 2 * T * i * o;
    lora += 2 * T * SPEC.rank * (i + o);
  }
  const attn = 4 * T * T * H * D;
  const head = 2 * N * V * C;
  // layer 0's q/k/v read the frozen embedding: no dX is built for them (autodiff skips it)
  const skipped = 2 * T * C * (H * D + 2 * KV * D) + 3 * 2 * T * SPEC.rank * C;
  return cfg.numLayers * (2 * base + 3 * lora + 3 * attn) + 2 * head - skipped;
}

/** AdamW on n floats: the TS loop (with the grad-norm pass) vs the bare update as an ONNX graph (p, m, v, g in → out). */
async function optimizerCompare(n: number, threads: number): Promise<{ params: number; ts_ms: number; onnx_ms: number }> {
  const p = new Map([['w', new Float32Array(n).fill(0.1)]]);
  const grad = new Map([['w', new Float32Array(n).fill(0.01)]]);
  const opt = new AdamW(p, { maxGradNorm: 1 });
  opt.apply(grad);
  let t0 = performance.now();
  for (let i = 0; i < 5; i++) opt.apply(grad);
  const ts = (performance.now() - t0) / 5;
  const g = new Graph('adamw');
  const [P, M, Vv, G] = ['p', 'm', 'v', 'g'].map((k) => g.input(k, 'float32', [n]));
  const c = (x: number) => g.scalar(x, 'float32');
  const m2 = g.add(g.mul(M, c(0.9)), g.mul(G, c(0.1)));
  const v2 = g.add(g.mul(Vv, c(0.98)), g.mul(g.mul(G, G), c(0.02)));
  const p2 = g.sub(g.mul(P, c(1 - 1e-5)), g.div(g.mul(m2, c(1e-3)), g.add(g.sqrt(g.mul(v2, c(7))), c(1e-8))));
  g.output(p2, 'p2');
  g.output(m2, 'm2');
  g.output(v2, 'v2');
  const s = await ort.InferenceSession.create(g.encode(), { intraOpNumThreads: threads });
  // best case for the graph: each step's outputs are fed back as the next inputs (no copies)
  const t = () => new ort.Tensor('float32', new Float32Array(n).fill(0.1), [n]);
  let state: Record<'p' | 'm' | 'v', ort.Tensor> = { p: t(), m: t(), v: t() };
  const gT = t();
  await s.run({ ...state, g: gT });
  t0 = performance.now();
  for (let i = 0; i < 5; i++) {
    const out = await s.run({ ...state, g: gT });
    state = { p: out.p2, m: out.m2, v: out.v2 };
  }
  const onnx = (performance.now() - t0) / 5;
  await s.release();
  return { params: n, ts_ms: ts, onnx_ms: onnx };
}

interface ChildResult { tok_s: number; step_ms: number; flops: number; peak_rss_mb: number; loss: number; lora_params: number; build_ms: number; matmul_gflops: number; score_ms: number; evaluate_ms: number }

/** One (model, seq) measurement; runs in a child process. */
async function child(dir: string, T: number, batch: number, steps: number, threads: number): Promise<ChildResult> {
  const cfg: ModelConfig = JSON.parse(fs.readFileSync(path.join(dir, 'bench-config.json'), 'utf8'));
  const weights = { tensors: openWeights(dir), mode: 'external' as const, modelFileDir: dir };
  const t0 = performance.now();
  const tr = await Trainer.create(cfg, weights, { spec: SPEC, adapter: initAdapter(cfg, SPEC, 'bench', 1), intraOpThreads: threads, optimizer: { lr: 1e-3 }, packTokens: batch * T });
  const build = performance.now() - t0;
  const r = seededRandom(T);
  const tok = () => 2 + Math.floor(r() * 1000);
  const eps: TrainEpisode[] = Array.from({ length: batch }, () => ({
    context: Array.from({ length: T + 1 - RESPONSE }, tok),
    response: Array.from({ length: RESPONSE }, tok),
    behaviourLogprobs: Array(RESPONSE).fill(-10),
    advantages: Array.from({ length: RESPONSE }, () => (r() < 0.5 ? -1 : 1)),
  }));
  // correctness first: the step is finite and moves the adapter (B leaves zero)
  const first = await tr.step(eps);
  const bName = loraTensors(cfg, SPEC)[1].name;
  if (!first.report.applied || !Number.isFinite(first.loss) || tr.params.get(bName)!.every((x) => x === 0))
    throw new Error(`bench: the first step did not apply cleanly (${JSON.stringify(first.report)}, loss ${first.loss})`);
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const a = performance.now();
    await tr.step(eps);
    times.push(performance.now() - a);
  }
  // Scoring the same batch: forward-only (logprobsWith) vs the step's evaluate (forward + backward, no update).
  const pairs = eps.map((e) => ({ context: e.context, response: e.response }));
  await tr.logprobsWith(undefined, pairs); // builds the score session
  const med3 = async (f: () => Promise<unknown>) => {
    const t: number[] = [];
    for (let i = 0; i < 3; i++) {
      const a = performance.now();
      await f();
      t.push(performance.now() - a);
    }
    return t.sort((a, b) => a - b)[1];
  };
  const scoreMs = await med3(() => tr.logprobsWith(undefined, pairs));
  const evaluateMs = await med3(() => tr.evaluate(eps));
  await tr.release();
  // the roofline under the same conditions (the cores are shared), right after the steps
  const gflops = await matmulGflops(threads || Math.min(2, os.cpus().length));
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)];
  const flops = batch * stepFlops(cfg, T, RESPONSE);
  const loraParams = [...tr.params.values()].reduce((s, p) => s + p.length, 0);
  return { tok_s: (batch * T) / (ms / 1e3), step_ms: ms, flops, peak_rss_mb: process.resourceUsage().maxRSS / 1024, loss: first.loss, lora_params: loraParams, build_ms: build, matmul_gflops: gflops, score_ms: scoreMs, evaluate_ms: evaluateMs };
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const res = await child(process.argv[process.argv.indexOf('--child') + 1], arg('seq', 128), arg('batch', 1), arg('steps', 3), arg('threads', 0) || 0);
    process.stdout.write(`CHILD ${JSON.stringify(res)}\n`);
    return;
  }
  const layers = arg('layers', 4);
  const steps = arg('steps', 5);
  const threads = arg('threads', Math.min(2, os.cpus().length));
  let gflops = await matmulGflops(threads);
  let best = gflops;
  const models: [string, ModelConfig][] = [
    ['tiny', PRESETS.tiny],
    ['qwen2.5-coder-0.5b', { ...PRESETS['qwen2.5-coder-0.5b'], numLayers: layers }],
  ];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-train-'));
  const out: Record<string, { layers: number; lora_params: number; seq: Record<string, { tok_s: number; step_ms: number; roofline_fraction: number; peak_rss_mb: number; score_ms: number; score_vs_evaluate: number }> }> = {};
  const results: { name: string; layers: number; key: string; r: ChildResult }[] = [];
  let optimizer: Awaited<ReturnType<typeof optimizerCompare>> | undefined;
  try {
    for (const [name, cfg] of models) {
      const dir = path.join(root, name);
      makeModel(cfg, dir, { seed: 1, tokenizer: false });
      fs.writeFileSync(path.join(dir, 'bench-config.json'), JSON.stringify(cfg));
      out[name] = { layers: cfg.numLayers, lora_params: 0, seq: {} };
      for (const [T, batch] of RUNS) {
        const key = batch === 1 ? String(T) : `${T}x${batch}`;
        const p = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--child', dir, '--seq', String(T), '--batch', String(batch), '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 1 << 24 });
        const line = p.stdout.split('\n').find((l) => l.startsWith('CHILD '));
        if (!line) throw new Error(`bench child ${name} seq ${T} failed (exit ${p.status}): ${p.stderr.slice(-2000)}`);
        const r: ChildResult = JSON.parse(line.slice(6));
        best = Math.max(best, r.matmul_gflops);
        results.push({ name, layers: cfg.numLayers, key, r });
        out[name].lora_params = r.lora_params;
      }
      // the update at the real adapter's size (all 24 layers), whatever number of layers was timed
      if (name !== 'tiny') optimizer = await optimizerCompare(loraTensors(PRESETS[name], SPEC).reduce((n, t) => n + t.shape[0] * t.shape[1], 0), threads);
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  // one roofline for every row: the best MatMul rate measured in this run (start, and after each child's steps)
  gflops = best;
  const rows = results.map(({ name, layers: L, key, r }) => {
    const achieved = r.flops / (r.step_ms / 1e3) / 1e9;
    const fraction = achieved / gflops;
    out[name].seq[key] = { tok_s: round(r.tok_s), step_ms: round(r.step_ms), roofline_fraction: round(fraction, 3), peak_rss_mb: Math.round(r.peak_rss_mb), score_ms: round(r.score_ms), score_vs_evaluate: round(r.score_ms / r.evaluate_ms, 3) };
    return `${name.padEnd(20)} ${String(L).padStart(6)} ${key.padStart(5)} ${r.step_ms.toFixed(0).padStart(9)} ${r.tok_s.toFixed(0).padStart(8)} ${(r.flops / 1e9).toFixed(1).padStart(8)} ${achieved.toFixed(1).padStart(9)} ${(100 * fraction).toFixed(0).padStart(5)}% ${Math.round(r.peak_rss_mb).toString().padStart(8)} ${r.score_ms.toFixed(0).padStart(9)} ${r.evaluate_ms.toFixed(0).padStart(11)}`;
  });
  console.log(`MatMul [512x896]@[896x4864] fp32, ${threads} threads: best ${gflops.toFixed(1)} GFLOP/s this run; response ${RESPONSE} tokens per episode (128x4 = 4 episodes packed in one run), LoRA r=${SPEC.rank} on all 7 projections`);
  console.log(`${'model'.padEnd(20)} ${'layers'.padStart(6)} ${'seq'.padStart(5)} ${'step ms'.padStart(9)} ${'tok/s'.padStart(8)} ${'GFLOP'.padStart(8)} ${'GFLOP/s'.padStart(9)} ${'roof'.padStart(6)} ${'RSS MB'.padStart(8)} ${'score ms'.padStart(9)} ${'fwd+bwd ms'.padStart(11)}`);
  for (const r of rows) console.log(r);
  if (optimizer) console.log(`AdamW over ${optimizer.params} LoRA params (r=${SPEC.rank}, 24 layers): TypeScript (with grad-norm pass) ${optimizer.ts_ms.toFixed(1)} ms, ONNX graph (update only) ${optimizer.onnx_ms.toFixed(1)} ms`);
  console.log(JSON.stringify({ bench: 'train', matmul_gflops: round(gflops), threads, response_tokens: RESPONSE, models: out, optimizer: optimizer && { params: optimizer.params, ts_ms: round(optimizer.ts_ms), onnx_ms: round(optimizer.onnx_ms) } }));
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
