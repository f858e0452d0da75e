// bench:kernels — the weight layouts onnxruntime's CPU MatMulNBits kernel offers, side by side:
// 4-bit in blocks of 32 (what Hindsight serves; the same numbers as llama.cpp's Q4_0), 64 and 128
// values a scale, and 8-bit in blocks of 32. For each: the speed of the 0.5B geometry's projections
// (24 layers of q/k/v, o, gate/up and down, 358 M weights: too big for the caches, as in serving) at a
// 512-token prefill and a one-token decode step, and the weight error the layout costs on the
// bundled starter's trained weights (round to nearest, as the serving quantiser does). Ratios are
// against the served layout in the same run. The reference row is llama.cpp (node-llama-cpp) running
// the whole model of that geometry (attention, norms and LM head included) from the Q4_0 GGUF the
// project writes, same threads, interleaved. This is the table that keeps serving at block 32 (the
// faster layouts cost accuracy that Q4_0 does not pay) and that says where the prefill gap to
// llama.cpp lies: in the kernel, before any other part of the model is counted.
// Prints a table, then one JSON line. Usage: npm run bench:kernels [-- --threads N] [--reps N] [--no-llama]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph, type Value } from '../server/graph/builder';
import { openModelFolder, checkpointTensors } from '../server/model/folder';
import { readTensorF32 } from '../server/model/safetensors';
import { largestMagnitude } from '../server/model/quantize';
import { seededRandom } from '../server/train/random';
import { exportModelGguf } from '../server/export/ggufModel';
import { runInTrainerEnv } from './trainerEnv';
import { LlamaCppRunner } from './llamaCpp';
import { generateModel } from './generatedModel';
import { percentile } from './learn/latency';

const argv = process.argv.slice(2);
const arg = (k: string) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : undefined);
const threads = Number(arg('threads') ?? os.availableParallelism());
const reps = Number(arg('reps') ?? 3);
const withLlama = !argv.includes('--no-llama');
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Qwen2.5-Coder-0.5B: hidden 896, q/k/v 896 + 2·128 rows, intermediate 4864, 24 layers. */
const C = 896, QKV = 1152, I = 4864, LAYERS = 24;
const PREFILL = 512;

interface Layout {
  name: string;
  bits: 4 | 8;
  block: number;
  served?: boolean;
}
const LAYOUTS: Layout[] = [
  { name: '4-bit, block 32 (served; Q4_0)', bits: 4, block: 32, served: true },
  { name: '4-bit, block 64', bits: 4, block: 64 },
  { name: '4-bit, block 128', bits: 4, block: 128 },
  { name: '8-bit, block 32', bits: 8, block: 32 },
];

/**
 * Symmetric round-to-nearest in blocks (the largest magnitude maps to the most negative code, as
 * ./quantize does for 4-bit), dequantised: the weights a layout computes with.
 */
function roundTrip(w: Float32Array, k: number, block: number, bits: 4 | 8): Float32Array {
  const lowest = -(1 << (bits - 1)), highest = (1 << (bits - 1)) - 1;
  const out = new Float32Array(w.length);
  for (let row = 0; row < w.length; row += k)
    for (let b = row; b < row + k; b += block) {
      const n = Math.min(block, row + k - b); // a row's last block may be short (MatMulNBits pads it)
      const scale = largestMagnitude(w, b, n) / lowest;
      for (let i = b; i < b + n; i++) out[i] = scale ? Math.min(highest, Math.max(lowest, Math.round(w[i] / scale))) * scale : 0;
    }
  return out;
}

/** ‖W − Q(W)‖ / ‖W‖ over every projection of the bundled starter (trained weights). */
function weightError(layout: Layout): number {
  const folder = openModelFolder(path.join(__dirname, '..', 'models', 'hindsight-starter'));
  let err = 0, norm = 0;
  for (const t of checkpointTensors(folder.cfg).filter((c) => c.kind === 'proj')) {
    const info = folder.tensors.get(t.name)!;
    const w = readTensorF32(info);
    const q = roundTrip(w, info.shape[1], layout.block, layout.bits);
    for (let i = 0; i < w.length; i++) {
      err += (w[i] - q[i]) ** 2;
      norm += w[i] ** 2;
    }
  }
  return Math.sqrt(err / norm);
}

/**
 * The projections of 24 layers as one chain of MatMulNBits nodes (random codes; speed does not
 * depend on them), each output sliced to the next one's input width. Scales keep activations O(1).
 */
async function projectionChain(layout: Layout): Promise<ort.InferenceSession> {
  const g = new Graph(`chain_b${layout.bits}_k${layout.block}`);
  const rnd = seededRandom(layout.bits * 1000 + layout.block);
  const matmul = (x: Value, k: number, n: number, name: string): Value => {
    const blocks = k / layout.block;
    const codes = new Uint8Array((n * k * layout.bits) / 8);
    for (let i = 0; i < codes.length; i++) codes[i] = (rnd() * 256) | 0;
    const scales = new Float32Array(n * blocks).fill(1 / Math.sqrt(k * (layout.bits === 4 ? 21 : 5461)));
    const w = g.weight(`${name}.codes`, 'uint8', [n, blocks, (layout.block * layout.bits) / 8], codes);
    const s = g.weight(`${name}.scales`, 'float32', [n * blocks], new Uint8Array(scales.buffer));
    return g.op('MatMulNBits', [x, w, s], { K: k, N: n, bits: layout.bits, block_size: layout.block, accuracy_level: 4 }, { domain: 'com.microsoft', out: [{ dtype: 'float32', shape: ['M', n] }] })[0];
  };
  const first = (x: Value, n: number) => g.slice(x, [0], [n], [1]);
  let x = g.input('x', 'float32', ['M', C]);
  for (let l = 0; l < LAYERS; l++) {
    const qkv = matmul(x, C, QKV, `l${l}.qkv`);
    const o = matmul(first(qkv, C), C, C, `l${l}.o`);
    const gateUp = matmul(o, C, 2 * I, `l${l}.gate_up`);
    x = matmul(first(gateUp, I), I, C, `l${l}.down`);
  }
  g.output(x, 'y');
  return ort.InferenceSession.create(g.encode({ '': 21, 'com.microsoft': 1 }), { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
}

async function msPerRun(session: ort.InferenceSession, m: number, runs: number): Promise<number> {
  const x = new ort.Tensor('float32', Float32Array.from({ length: m * C }, (_, i) => Math.sin(i)), [m, C]);
  await session.run({ x });
  return timed(() => session.run({ x }), runs);
}

async function timed(f: () => Promise<unknown>, runs: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await f();
  return (performance.now() - t0) / runs;
}

/** llama.cpp on the Q4_0 GGUF of a generated model of the 0.5B geometry (in `dir`). */
async function loadLlama(dir: string): Promise<LlamaCppRunner> {
  const model = path.join(dir, 'model');
  generateModel('qwen2.5-coder-0.5b', model);
  const file = path.join(dir, 'model-q4_0.gguf');
  exportModelGguf(openModelFolder(model), file, { weights: 'q4_0' });
  return LlamaCppRunner.load(file, threads);
}

const PROMPT = Array.from({ length: PREFILL }, (_, i) => (i * 7919) % 150000);

const median = (xs: number[]) => percentile(xs, 0.5);

async function main() {
  runInTrainerEnv();
  const loadStart = os.loadavg()[0];
  log(`bench:kernels on ${os.cpus()[0]?.model ?? 'cpu'}, ${threads} threads, load average ${loadStart.toFixed(1)}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-kernels-'));
  const llama = withLlama ? await loadLlama(dir) : undefined;
  const sessions: ort.InferenceSession[] = [];
  for (const layout of LAYOUTS) sessions.push(await projectionChain(layout));
  // Interleaved: each round runs every layout (and llama.cpp) once, so drift in the machine's speed hits all alike.
  const prefill = LAYOUTS.map(() => [] as number[]);
  const decode = LAYOUTS.map(() => [] as number[]);
  const llamaTimes = { prefill: [] as number[], decode: [] as number[] };
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < LAYOUTS.length; i++) {
      prefill[i].push(await msPerRun(sessions[i], PREFILL, 2));
      decode[i].push(await msPerRun(sessions[i], 1, 20));
    }
    if (llama) {
      await llama.prefill(PROMPT); // untimed: its first pass after the others' turn runs slow
      llamaTimes.prefill.push(await timed(() => llama.prefill(PROMPT), 2));
      let next = 1;
      llamaTimes.decode.push(await timed(async () => (next = await llama.step(next)), 20));
    }
  }
  await llama?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  const errors = LAYOUTS.map(weightError);
  const served = LAYOUTS.findIndex((l) => l.served);
  const rows = LAYOUTS.map((layout, i) => ({
    layout: `b${layout.bits}k${layout.block}`,
    bits_per_weight: layout.bits + 32 / layout.block,
    prefill_ms: Math.round(median(prefill[i])),
    decode_ms: Number(median(decode[i]).toFixed(2)),
    prefill_speed: Number((median(prefill[served]) / median(prefill[i])).toFixed(2)),
    decode_speed: Number((median(decode[served]) / median(decode[i])).toFixed(2)),
    weight_error: Number(errors[i].toFixed(4)),
    error_ratio: Number((errors[i] / errors[served]).toFixed(2)),
  }));
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  log(`\n${'layout'.padEnd(32)}${pad('bits/w', 7)}${pad('prefill ms', 12)}${pad('decode ms', 11)}${pad('speed p/d', 12)}${pad('weight err', 12)}${pad('× served', 10)}`);
  rows.forEach((r, i) => log(`${LAYOUTS[i].name.padEnd(32)}${pad(r.bits_per_weight.toFixed(2), 7)}${pad(r.prefill_ms, 12)}${pad(r.decode_ms.toFixed(2), 11)}${pad(`${r.prefill_speed.toFixed(2)}/${r.decode_speed.toFixed(2)}`, 12)}${pad(r.weight_error.toFixed(4), 12)}${pad(r.error_ratio.toFixed(2), 10)}`));
  const reference = llama && { prefill_ms: Math.round(median(llamaTimes.prefill)), decode_ms: Number(median(llamaTimes.decode).toFixed(2)) };
  if (reference) log(`${'llama.cpp Q4_0, whole model'.padEnd(32)}${pad('4.50', 7)}${pad(reference.prefill_ms, 12)}${pad(reference.decode_ms.toFixed(2), 11)}${pad(`${(median(prefill[served]) / reference.prefill_ms).toFixed(2)}/${(median(decode[served]) / reference.decode_ms).toFixed(2)}`, 12)}`);
  log(`(prefill: ${PREFILL} tokens through 358 M weights; decode: one token; medians of ${reps} interleaved rounds; speed = served layout's time / this one's;`);
  log(` llama.cpp's row is the whole model: attention, norms and the 136 M-weight LM head on top of the same projections)`);
  console.log(JSON.stringify({ bench: 'kernels', threads, load_avg: Number(loadStart.toFixed(1)), load_avg_end: Number(os.loadavg()[0].toFixed(1)), layouts: rows, llama_cpp_whole_model: reference ?? null }));
  await Promise.all(sessions.map((s) => s.release()));
}

main().catch((e) => {
  log(String(e?.stack ?? e));
  process.exit(1);
});
