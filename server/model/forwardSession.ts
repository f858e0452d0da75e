// A loaded model ready to generate: the KV-cache forward graph in an ORT session, its LoRA inputs
// fed from the current adapter (swapping adapters = swapping input tensors, never a rebuild),
// and KV caches that can be truncated to a shared prompt prefix and reused across requests.
// Leaves out: sampling and stop rules (server/serve).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Graph } from '../graph/builder';
import type { ModelConfig } from './config';
import { buildDecoder, pastName, presentName, usesGroupQueryAttention, type ComputeDType, type DecoderOptions, type WeightSet } from './decoder';
import type { ModelFolder } from './folder';
import { loraTensors, packedLoraTensors, packLora, type LoraSpec, LORA_TARGETS } from './lora';
import { createSession, weightFiles, writeModelFile, type Provider } from './session';
import { quantizeWeights } from './quantize';
import { defaultCacheRoot, modelCacheDir } from './modelCache';

export interface ForwardOptions {
  dtype?: Exclude<ComputeDType, 'float64'>;
  /** LoRA geometry the graph takes as inputs (default rank 16, alpha 32, all projections). */
  lora?: LoraSpec;
  /**
   * Other LoRA geometries whose 4-bit graph files are written too when this load converts the
   * weights (the conversion is most of a first load: 8 of 11 s at 0.5B), so loading one of them
   * later (serving's handover to the LoRA graph at the first adapter) takes under a second.
   */
  prepare?: LoraSpec[];
  providers?: Provider[];
  intraOpThreads?: number;
  /** Root of the generated-files cache (one folder per model content; see modelCache.ts). Default: the OS temp folder. */
  cacheDir?: string;
  /**
   * 4-bit MatMulNBits base weights (CPU serving); 'none' keeps the stored precision; 'auto' is 4-bit
   * only for models of AUTO_Q4_MIN_PARAMS or more (a small model is fast anyway and loses more to 4-bit).
   */
  quantize?: 'none' | 'q4' | 'auto';
  /** Let idle ORT threads spin (default false for serving; see SessionOptions.spin). */
  spin?: boolean;
  /** ORT profiling (see SessionOptions.profilePrefix). */
  profilePrefix?: string;
  /** onnxruntime's fused kernels in the graph (default true; false: the elementary ops, for A/B benches). */
  fusedKernels?: boolean;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** What the load is doing, in plain words, with a 0..1 fraction where the step can tell. */
  progress?: (step: string, fraction?: number) => void;
}

/** 'auto' quantises models from this size on (Qwen2.5-Coder-0.5B has 494 M; the bundled starter 6.5 M). */
export const AUTO_Q4_MIN_PARAMS = 100e6;

function parameterCount(folder: ModelFolder): number {
  let n = 0;
  for (const t of folder.tensors.values()) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Bump when the serving graph changes, so cached quantised .onnx files are rebuilt. */
const GRAPH_VERSION = 7; // 2: grouped-query attention without repeat_kv; 3: packed LoRA inputs; 4: fused RMSNorm; 5: fused rotary; 6: grouped q/k/v and gate/up projections, GroupQueryAttention (float16 cache at 4-bit), SkipSimplifiedLayerNormalization; 7: the log-partition as an output

function cacheKey(folder: ModelFolder, dtype: string, lora: LoraSpec): string {
  const files = weightFiles(folder.tensors).map((f) => {
    const st = fs.statSync(f);
    return [path.basename(f), st.size, st.mtimeMs];
  });
  return crypto.createHash('sha256').update(JSON.stringify({ GRAPH_VERSION, files, dtype, lora })).digest('hex').slice(0, 12);
}

export const DEFAULT_SERVE_LORA: LoraSpec = { rank: 16, alpha: 32, targets: [...LORA_TARGETS] };
/**
 * The base model's serving graph: no LoRA inputs. A rank-16 branch that adds zeros still costs
 * 15-20 % of each decoded token (≈120 small MatMuls), so serving uses this one until an adapter exists.
 */
export const BASE_SERVE_LORA: LoraSpec = { ...DEFAULT_SERVE_LORA, targets: [] };

export interface KvCache {
  /** Token ids whose keys/values the cache holds, in order. */
  ids: number[];
  tensors: Record<string, ort.Tensor>;
}

export interface ForwardStats {
  loadMs: number;
  provider: Provider;
  modelFile: string | undefined;
  /** Whether the base weights run as 4-bit. */
  q4: boolean;
}

/** The decoder options of the serving graph (packed layout, cache, last logits only). */
const serveOptions = (dtype: ComputeDType, lora: LoraSpec, fusedKernels: boolean): DecoderOptions => ({ dtype, lora, loraLayout: 'packed', fusedKernels, cache: true, logits: 'last' });

/** Build the cache-mode graph (logits of the last position only, as float32) for a folder. */
export function buildServeGraph(cfg: ModelConfig, weights: WeightSet, dtype: ComputeDType, lora: LoraSpec, fusedKernels = true, kvDtype?: 'float16'): Graph {
  const g = new Graph(`${cfg.architecture}_serve`);
  const d = buildDecoder(g, cfg, weights, { ...serveOptions(dtype, lora, fusedKernels), kvDtype });
  const logits = g.output(g.cast(d.logits, 'float32'), 'logits');
  // The log-partition for the sampler's log-probs: one vectorised kernel instead of ~150k exps in JS per token.
  g.output(g.op('ReduceLogSumExp', [logits, g.constant([-1])], { keepdims: 0 }, { out: [{ dtype: 'float32', shape: ['B', 1] }] })[0], 'logits_lse');
  d.presents.forEach((p, l) => {
    g.output(p.key, presentName(l, 'key'));
    g.output(p.value, presentName(l, 'value'));
  });
  return g;
}

export class ForwardSession {
  adapterVersion = 0;
  private loraFeeds: Record<string, ort.Tensor> = {};

  private constructor(
    readonly session: ort.InferenceSession,
    readonly cfg: ModelConfig,
    readonly lora: LoraSpec,
    readonly dtype: Exclude<ComputeDType, 'float64'>,
    /** The KV cache's element type (float16 for 4-bit serving: see create). */
    readonly kvDtype: Exclude<ComputeDType, 'float64'>,
    readonly stats: ForwardStats,
  ) {
    this.setAdapter(0, new Map());
  }

  static async create(folder: ModelFolder, opts: ForwardOptions = {}): Promise<ForwardSession> {
    const t0 = performance.now();
    const dtype = opts.dtype ?? 'float32';
    const lora = opts.lora ?? DEFAULT_SERVE_LORA;
    const progress = opts.progress ?? (() => undefined);
    progress('preparing the model files');
    const dir = modelCacheDir(opts.cacheDir || defaultCacheRoot(), folder, opts.log);
    const weights: WeightSet = { tensors: folder.tensors, mode: 'external', modelFileDir: dir };
    let file: string;
    const fused = opts.fusedKernels ?? true;
    const plain = fused ? '' : '-plain';
    const q4 = opts.quantize === 'q4' || (opts.quantize === 'auto' && parameterCount(folder) >= AUTO_Q4_MIN_PARAMS);
    // 4-bit serving (already approximate) keeps its cache in float16 where GroupQueryAttention runs it;
    // full-precision serving keeps the exact numbers.
    const kvDtypeOf = (spec: LoraSpec) => (q4 && usesGroupQueryAttention(folder.cfg, serveOptions(dtype, spec, fused)) ? 'float16' as const : undefined);
    const kvDtype = kvDtypeOf(lora);
    // One family of files per graph kind: a new file replaces the older ones of its family only.
    const family = (precision: string, spec: LoraSpec) => `serve-${dtype}-${precision}${plain}-r${spec.rank}${spec.targets.length ? '' : '-base'}`;
    if (q4) {
      // Quantising reads every weight into JS (seconds at 0.5B): reuse the .onnx written for the same
      // weight files (path, size, mtime), options and graph version.
      const stem = (spec: LoraSpec) => `${family('q4', spec)}-${cacheKey(folder, dtype, spec)}`;
      const cached = (spec: LoraSpec) => fs.readdirSync(dir).find((f) => f.startsWith(`.hindsight-${stem(spec)}-`) && f.endsWith('.onnx'));
      const hit = cached(lora);
      if (hit) file = path.join(dir, hit);
      else {
        weights.quantized = quantizeWeights(folder.cfg, folder.tensors, (f) => progress('converting the weights to 4-bit', f));
        const write = (spec: LoraSpec) => writeModelFile(dir, stem(spec), buildServeGraph(folder.cfg, weights, dtype, spec, fused, kvDtypeOf(spec)).encode({ '': 21, 'com.microsoft': 1 }), family('q4', spec));
        progress('writing the model graph');
        file = write(lora);
        for (const spec of opts.prepare ?? []) if (!cached(spec)) write(spec);
      }
    } else {
      progress('writing the model graph');
      file = writeModelFile(dir, family('none', lora), buildServeGraph(folder.cfg, weights, dtype, lora, fused).encode({ '': 21, 'com.microsoft': 1 }));
    }
    progress('starting ONNX Runtime');
    const { session, provider } = await createSession(file, { providers: opts.providers, intraOpThreads: opts.intraOpThreads, spin: opts.spin ?? false, ...(opts.profilePrefix ? { profilePrefix: opts.profilePrefix } : {}), log: opts.log });
    const loadMs = performance.now() - t0;
    opts.log?.('info', `model ${folder.name} loaded on ${provider} in ${loadMs.toFixed(0)} ms (${dtype}${q4 ? ', 4-bit weights' : ''})`);
    return new ForwardSession(session, folder.cfg, lora, dtype, kvDtype ?? dtype, { loadMs, provider, modelFile: file, q4 });
  }

  /** Replace the LoRA input tensors (missing names are zero; B = 0 is the base model). */
  setAdapter(version: number, tensors: Map<string, Float32Array>): void {
    const known = new Set<string>();
    for (const t of loraTensors(this.cfg, this.lora)) {
      known.add(t.name);
      const n = t.shape[0] * t.shape[1];
      const v = tensors.get(t.name);
      if (v && v.length !== n) throw new Error(`adapter ${version}: ${t.name} has ${v.length} values, the serving graph expects [${t.shape}]`);
    }
    for (const name of tensors.keys()) if (!known.has(name)) throw new Error(`adapter ${version}: ${name} is not an input of the serving graph (rank ${this.lora.rank}, targets ${this.lora.targets.join(',')})`);
    // The serving graph takes the packed layout (lora.ts): A's side by side per shared input, B's transposed and scaled.
    const packed = packLora(this.cfg, this.lora, tensors);
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of packedLoraTensors(this.cfg, this.lora)) feeds[t.name] = new ort.Tensor('float32', packed.get(t.name)!, t.shape);
    this.loraFeeds = feeds;
    this.adapterVersion = version;
  }

  emptyCache(): KvCache {
    const { numLayers: L, numKvHeads: KV, headDim: D } = this.cfg;
    const tensors: Record<string, ort.Tensor> = {};
    for (let l = 0; l < L; l++)
      for (const k of ['key', 'value'] as const) tensors[pastName(l, k)] = this.kvDtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), [1, KV, 0, D]) : new ort.Tensor('float32', new Float32Array(0), [1, KV, 0, D]);
    return { ids: [], tensors };
  }

  /** Run `ids` after the cache's tokens; returns the last position's logits and the extended cache. */
  async step(ids: number[], cache: KvCache): Promise<{ logits: Float32Array; lse: number; cache: KvCache }> {
    const P = cache.ids.length;
    const T = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, T]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (_, i) => BigInt(P + i)), [1, T]),
      ...cache.tensors,
      ...this.loraFeeds,
    };
    const out = await this.session.run(feeds);
    const tensors: Record<string, ort.Tensor> = {};
    for (let l = 0; l < this.cfg.numLayers; l++)
      for (const k of ['key', 'value'] as const) tensors[pastName(l, k)] = out[presentName(l, k)];
    return { logits: out.logits.data as Float32Array, lse: (out.logits_lse.data as Float32Array)[0], cache: { ids: [...cache.ids, ...ids], tensors } };
  }

  /** The first `n` positions of a cache (copies; the KV layout is [1, KV, S, D]). */
  truncate(cache: KvCache, n: number): KvCache {
    if (n >= cache.ids.length) return cache;
    if (n <= 0) return this.emptyCache();
    const { numKvHeads: KV, headDim: D } = this.cfg;
    const S = cache.ids.length;
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(cache.tensors)) {
      const src = t.data as Float32Array | Uint16Array;
      const dst = new (src.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(KV * n * D);
      for (let h = 0; h < KV; h++) dst.set(src.subarray(h * S * D, h * S * D + n * D), h * n * D);
      tensors[name] = new ort.Tensor(t.type as 'float32', dst as Float32Array, [1, KV, n, D]);
    }
    return { ids: cache.ids.slice(0, n), tensors };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
