// The Qwen2 / Llama decoder forward as ONNX nodes appended to a Graph: embedding, N × (RMSNorm,
// rotary self-attention with GQA and a KV cache, RMSNorm, SiLU MLP), final norm, LM head, with
// LoRA A/B of every targeted projection as graph inputs (an adapter swap = new input tensors).
// Follows transformers' modeling_qwen2.py / modeling_llama.py, names included. Leaves out: the
// session (./session), the score head (./score), sampling (server/serve).
//
// Dimension letters: B batch, T new tokens, P past tokens, S = P + T keys, C hidden size,
// H heads, KV key/value heads, R = H / KV (GQA group), D head dim, I intermediate size, V vocab.
import type { Graph, Value, DType } from '../graph/builder';
import type { ExternalData } from '../graph/onnx';
import type { ModelConfig } from './config';
import type { TensorInfo, SafeDType } from './safetensors';
import { readTensorBytes } from './safetensors';
import { loraInputName, LORA_GROUPS, LORA_TARGETS, moduleName, packedLoraName, packedLoraTensors, projectionDims as projectionDimsOf, type LoraSpec, type LoraTarget } from './lora';
import * as path from 'node:path';

export type ComputeDType = 'float32' | 'float64' | 'float16';

/** Where the base weights come from and how initialisers reference them. */
export interface WeightSet {
  tensors: Map<string, TensorInfo>;
  /**
   * 'external': initialisers point into the .safetensors files (zero copy) by file name; the .onnx
   * must be written to `modelFileDir`, the weights' folder or one holding links to them (ORT refuses
   * absolute and escaping paths). 'inline': bytes are copied into the model (tests, small models).
   */
  mode: 'external' | 'inline';
  modelFileDir?: string;
  /** Optional 4-bit replacements for projection / LM head weights (see ./quantize). */
  quantized?: Map<string, QuantizedWeight>;
}

/** A weight in com.microsoft MatMulNBits layout (4 bits, block 32). */
export interface QuantizedWeight {
  n: number;
  k: number;
  blockSize: number;
  /** uint8 [N, K/block, block/2] */
  packed: Uint8Array;
  /** float32 [N * K/block] */
  scales: Float32Array;
}

export interface DecoderOptions {
  /** Compute dtype (default float32). float64 is for gradient checks; base weights are cast in-graph. */
  dtype?: ComputeDType;
  /** LoRA inputs for these targets in every layer (none when omitted). */
  lora?: LoraSpec;
  /**
   * 'peft' (default): A [r, in] and B [out, r] inputs by PEFT name, one projection per module;
   * 'packed': serving's form, q/k/v and gate/up as one projection each with the LoRA layout that
   * matches them (lora.ts, packLora).
   */
  loraLayout?: 'peft' | 'packed';
  /**
   * onnxruntime's fused kernels where they apply (serving, float32: fewer kernel launches per
   * token): RMSNorm as one SimplifiedLayerNormalization node instead of eight, each residual add
   * inside the next norm (SkipSimplifiedLayerNormalization), rotary as com.microsoft
   * RotaryEmbedding with cos/sin tables per position, and with the packed layout and a cache, the
   * whole attention as GroupQueryAttention. The training graphs keep the elementary ops autodiff knows.
   */
  fusedKernels?: boolean;
  /** KV cache mode: past_key_values.* inputs and present.* outputs (default true). */
  cache?: boolean;
  /**
   * The cache's dtype when GroupQueryAttention runs it (fused serving): 'float16' halves the bytes
   * each step reads and copies (llama.cpp's default cache type too); otherwise the compute dtype.
   */
  kvDtype?: 'float16';
  /** 'all' positions (score, training) or only the 'last' one (serving; saves the T×V head). */
  logits?: 'all' | 'last';
}

export interface DecoderValues {
  inputIds: Value; // int64 [B, T]
  positionIds: Value; // int64 [B, T]
  /** [B, T, V] ('all') or [B, 1, V] ('last'), in the compute dtype. */
  logits: Value;
  /** Final-norm hidden states [B, T, C]. */
  hidden: Value;
  pasts: { key: Value; value: Value }[]; // [B, KV, P, D] each (cache mode)
  presents: { key: Value; value: Value }[]; // [B, KV, S, D] each (cache mode)
  /** LoRA graph inputs by name (PEFT's, or the packed layout's); dtype float32, or float64 when dtype is float64. */
  loraInputs: Map<string, Value>;
}

const DTYPES: Partial<Record<SafeDType, DType>> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };

/**
 * Whether a build runs attention as onnxruntime's GroupQueryAttention (rotary, cache append and
 * causal attention in one kernel): fused float32 serving with a cache, and head dims of 16·k (the
 * kernel's requirement). Only then can the cache be float16 (`kvDtype`).
 */
export function usesGroupQueryAttention(cfg: ModelConfig, opts: DecoderOptions): boolean {
  return !!opts.fusedKernels && (opts.dtype ?? 'float32') === 'float32' && (opts.cache ?? true) && opts.loraLayout === 'packed' && cfg.headDim % 16 === 0;
}

/** Names of the graph's cache inputs and outputs, shared with the session wrapper. */
export const pastName = (layer: number, kind: 'key' | 'value') => `past_key_values.${layer}.${kind}`;
export const presentName = (layer: number, kind: 'key' | 'value') => `present.${layer}.${kind}`;

/** Append the decoder forward to `g`. Declares its inputs; marks no outputs (the caller does). */
export function buildDecoder(g: Graph, cfg: ModelConfig, weights: WeightSet, opts: DecoderOptions = {}): DecoderValues {
  const dtype = opts.dtype ?? 'float32';
  const cache = opts.cache ?? true;
  const ctx = new DecoderContext(g, cfg, weights, dtype, !!opts.fusedKernels && dtype === 'float32');
  const { numLayers: L, numKvHeads: KV, headDim: D } = cfg;

  const inputIds = g.input('input_ids', 'int64', ['B', 'T']);
  const positionIds = g.input('position_ids', 'int64', ['B', 'T']);
  const useGqa = usesGroupQueryAttention(cfg, opts);
  if (opts.kvDtype && !useGqa) throw new Error('kvDtype needs the fused serving graph (GroupQueryAttention)');
  const kvDtype = opts.kvDtype ?? dtype;
  const pasts = cache
    ? Array.from({ length: L }, (_, l) => ({
        key: g.input(pastName(l, 'key'), kvDtype, ['B', KV, 'P', D]),
        value: g.input(pastName(l, 'value'), kvDtype, ['B', KV, 'P', D]),
      }))
    : [];
  const packed = opts.loraLayout === 'packed';
  const loraInputs = (packed ? declarePackedLoraInputs : declareLoraInputs)(g, cfg, opts.lora, dtype === 'float64' ? 'float64' : 'float32');

  const rope: Rope = ctx.fused ? rotaryCaches(ctx, positionIds) : { kind: 'tables', ...g.scope('rotary_emb', () => rotaryTables(ctx, positionIds)) }; // cos, sin [B, T, 1, D]
  const gqa = useGqa ? g.scope('gqa_lengths', () => gqaLengths(ctx, inputIds, pasts[0].key)) : undefined;
  const maskBias = gqa ? undefined : g.scope('causal_mask', () => causalMaskBias(ctx, inputIds, positionIds, pasts[0]?.key)); // [B, 1, T, S]
  const attend: Attend = { rope, maskBias, gqa };

  let x = g.scope('model.embed_tokens', () => embed(ctx, inputIds)); // [B, T, C]
  const presents: { key: Value; value: Value }[] = [];
  // With fused kernels each residual add rides on the norm after it (SkipSimplifiedLayerNormalization
  // returns norm(x + delta) and x + delta): `pending` is the delta not yet added to x.
  let pending: Value | undefined;
  const norm = (weight: string): Value => {
    if (!pending) return rmsNorm(ctx, x, weight);
    if (ctx.fused) {
      const [y, sum] = skipRmsNorm(ctx, pending, x, weight);
      x = sum;
      pending = undefined;
      return y;
    }
    x = g.add(x, pending);
    pending = undefined;
    return rmsNorm(ctx, x, weight);
  };
  for (let l = 0; l < L; l++) {
    g.scope(`model.layers.${l}`, () => {
      const p = `model.layers.${l}`;
      // h = x + attn(norm(x)); out = h + mlp(norm(h))
      const a = g.scope('input_layernorm', () => norm(`${p}.input_layernorm.weight`));
      const attn = g.scope('self_attn', () => (packed ? groupedSelfAttention(ctx, a, l, attend, pasts[l], loraInputs) : selfAttention(ctx, a, l, attend, pasts[l], (t) => loraPair(loraInputs, opts.lora, l, t))));
      if (attn.present) presents.push(attn.present);
      pending = attn.out;
      const m = g.scope('post_attention_layernorm', () => norm(`${p}.post_attention_layernorm.weight`));
      pending = g.scope('mlp', () => (packed ? groupedMlp(ctx, m, l, loraInputs) : mlp(ctx, m, l, (t) => loraPair(loraInputs, opts.lora, l, t))));
    });
  }
  const hidden = g.scope('model.norm', () => norm('model.norm.weight'));
  const logits = g.scope('lm_head', () => lmHead(ctx, hidden, opts.logits ?? 'all'));
  return { inputIds, positionIds, logits, hidden, pasts, presents, loraInputs };
}

/** Declare LoRA A/B inputs for every targeted projection of every layer (PEFT names). */
function declareLoraInputs(g: Graph, cfg: ModelConfig, spec: LoraSpec | undefined, dtype: DType): Map<string, Value> {
  const m = new Map<string, Value>();
  if (!spec) return m;
  if (!(spec.rank > 0)) throw new Error(`lora.rank must be positive, got ${spec.rank}`);
  for (const t of spec.targets) if (!LORA_TARGETS.includes(t)) throw new Error(`unknown LoRA target ${t}; use one of ${LORA_TARGETS.join(', ')}`);
  for (let l = 0; l < cfg.numLayers; l++)
    for (const t of LORA_TARGETS) {
      if (!spec.targets.includes(t)) continue;
      const dims = projectionDimsOf(cfg, t);
      m.set(loraInputName(l, t, 'A'), g.input(loraInputName(l, t, 'A'), dtype, [spec.rank, dims.in]));
      m.set(loraInputName(l, t, 'B'), g.input(loraInputName(l, t, 'B'), dtype, [dims.out, spec.rank]));
    }
  return m;
}


/** Declare the packed layout's inputs (serving). */
function declarePackedLoraInputs(g: Graph, cfg: ModelConfig, spec: LoraSpec | undefined, dtype: DType): Map<string, Value> {
  const m = new Map<string, Value>();
  if (!spec) return m;
  if (!(spec.rank > 0)) throw new Error(`lora.rank must be positive, got ${spec.rank}`);
  for (const t of packedLoraTensors(cfg, spec)) m.set(t.name, g.input(t.name, dtype, t.shape));
  return m;
}

type LoraPair = { A: Value; B: Value; scaling: number };
function loraPair(inputs: Map<string, Value>, spec: LoraSpec | undefined, layer: number, t: LoraTarget): LoraPair | undefined {
  if (!spec || !spec.targets.includes(t)) return undefined;
  return { A: inputs.get(loraInputName(layer, t, 'A'))!, B: inputs.get(loraInputName(layer, t, 'B'))!, scaling: spec.alpha / spec.rank };
}

// ---- layers -------------------------------------------------------------------------------

/** Shared state of one build: the graph, config, weight lookup with in-graph casts. */
class DecoderContext {
  private cast = new Map<string, Value>();
  constructor(readonly g: Graph, readonly cfg: ModelConfig, readonly weights: WeightSet, readonly dtype: ComputeDType, readonly fused = false) {}

  has(name: string): boolean {
    return this.weights.tensors.has(name);
  }

  /** The stored initialiser (its own dtype), declared once. */
  raw(name: string): Value {
    const hit = this.g.values.get(name);
    if (hit) return hit;
    const t = this.weights.tensors.get(name);
    if (!t) throw new Error(`weight ${name} is missing from the model's safetensors`);
    const dt = DTYPES[t.dtype];
    if (!dt) throw new Error(`weight ${name}: dtype ${t.dtype} is not a float type`);
    let data: Uint8Array | ExternalData;
    if (this.weights.mode === 'external') {
      // The .onnx sits beside the weight files, or beside links to them (session.ts): a bare name.
      const location = path.basename(t.file);
      data = { location, offset: t.offset, length: t.length };
    } else data = readTensorBytes(t);
    return this.g.weight(name, dt, t.shape, data);
  }

  /** The weight in the compute dtype (a Cast node when stored otherwise; ORT folds it at load). */
  w(name: string): Value {
    const hit = this.cast.get(name);
    if (hit) return hit;
    const v = this.g.cast(this.raw(name), this.dtype);
    this.cast.set(name, v);
    return v;
  }

  scalar(v: number, dtype: DType = this.dtype): Value {
    return this.g.scalar(v, dtype);
  }
}

/** nn.Linear: y = x Wᵀ + b, plus the LoRA update (alpha/r) · (x Aᵀ) Bᵀ. `name` is the module path. */
function linear(ctx: DecoderContext, x: Value, name: string, lora?: LoraPair): Value {
  const g = ctx.g;
  const q = ctx.weights.quantized?.get(`${name}.weight`);
  let y: Value;
  if (q) {
    y = matMulNBits(ctx, x, `${name}.weight`, q);
  } else {
    y = g.matmul(x, g.transpose(ctx.w(`${name}.weight`), [1, 0]));
  }
  if (ctx.has(`${name}.bias`)) y = g.add(y, ctx.w(`${name}.bias`));
  if (lora) {
    const A = g.cast(lora.A, ctx.dtype), B = g.cast(lora.B, ctx.dtype);
    const down = g.matmul(x, g.transpose(A, [1, 0])); // [.., r]
    const up = g.matmul(down, g.transpose(B, [1, 0])); // [.., out]
    y = g.add(y, g.mul(up, ctx.scalar(lora.scaling)));
  }
  return y;
}

/** 4-bit weight-only MatMul (com.microsoft MatMulNBits; CPU kernels dequantise per block). */
function matMulNBits(ctx: DecoderContext, x: Value, name: string, q: QuantizedWeight): Value {
  const g = ctx.g;
  const nb = q.k / q.blockSize;
  const packed = g.weight(`${name}.q4`, 'uint8', [q.n, nb, q.blockSize / 2], q.packed);
  const scales = g.weight(`${name}.q4_scales`, 'float32', [q.n * nb], new Uint8Array(q.scales.buffer, q.scales.byteOffset, q.scales.byteLength));
  const xf = g.cast(x, 'float32');
  const shape = x.shape ? [...x.shape.slice(0, -1), q.n] : undefined;
  const y = g.op('MatMulNBits', [xf, packed, g.cast(scales, 'float32')], { K: q.k, N: q.n, bits: 4, block_size: q.blockSize, accuracy_level: 4 }, { domain: 'com.microsoft', out: [{ dtype: 'float32', shape }] })[0];
  return g.cast(y, ctx.dtype);
}

/** RMSNorm: x / sqrt(mean(x²) + eps) · w, computed in float32 at least (as transformers does). */
function rmsNorm(ctx: DecoderContext, x: Value, weight: string): Value {
  const g = ctx.g;
  if (ctx.fused) return g.op('SimplifiedLayerNormalization', [x, ctx.w(weight)], { axis: -1, epsilon: { float: ctx.cfg.rmsNormEps }, stash_type: 1 }, { out: [{ dtype: ctx.dtype, shape: x.shape }] })[0];
  const wide = ctx.dtype === 'float16' ? 'float32' : ctx.dtype;
  const xf = g.cast(x, wide);
  const meanSq = g.reduceMean(g.mul(xf, xf), [-1]); // [B, T, 1]
  const inv = g.reciprocal(g.sqrt(g.add(meanSq, ctx.scalar(ctx.cfg.rmsNormEps, wide))));
  return g.mul(g.cast(g.mul(xf, inv), ctx.dtype), ctx.w(weight));
}

/** norm(x + delta) and x + delta in one com.microsoft SkipSimplifiedLayerNormalization (fused serving). */
function skipRmsNorm(ctx: DecoderContext, delta: Value, x: Value, weight: string): [Value, Value] {
  const o = { dtype: ctx.dtype, shape: x.shape };
  const stat = { dtype: 'float32' as DType, shape: x.shape ? [...x.shape.slice(0, -1), 1] : undefined };
  const [y, , , sum] = ctx.g.op('SkipSimplifiedLayerNormalization', [delta, x, ctx.w(weight)], { epsilon: { float: ctx.cfg.rmsNormEps } }, { domain: 'com.microsoft', outputs: 4, out: [o, stat, stat, o] });
  return [y, sum];
}

function embed(ctx: DecoderContext, inputIds: Value): Value {
  // Gather from the stored dtype, then cast only the gathered rows (no full-table copy for BF16).
  return ctx.g.cast(ctx.g.gather(ctx.raw('model.embed_tokens.weight'), inputIds, 0), ctx.dtype); // [B, T, C]
}

/** cos/sin of position × inverse frequency, [B, T, 1, D] (rotate_half layout: halves repeated). */
function rotaryTables(ctx: DecoderContext, positionIds: Value): { cos: Value; sin: Value } {
  const g = ctx.g;
  const D = ctx.cfg.headDim;
  const wide = ctx.dtype === 'float64' ? 'float64' : 'float32';
  const invFreq = Array.from({ length: D / 2 }, (_, i) => 1 / ctx.cfg.ropeTheta ** ((2 * i) / D));
  const pos = g.unsqueeze(g.cast(positionIds, wide), [-1]); // [B, T, 1]
  const freqs = g.mul(pos, g.constant(invFreq, wide)); // [B, T, D/2]
  const emb = g.unsqueeze(g.concat([freqs, freqs], -1), [2]); // [B, T, 1, D]
  const cos = g.cast(g.op('Cos', [emb])[0], ctx.dtype);
  const sin = g.cast(g.op('Sin', [emb])[0], ctx.dtype);
  return { cos, sin };
}

type Rope = { kind: 'tables'; cos: Value; sin: Value } | { kind: 'fused'; positionIds: Value; cosCache: Value; sinCache: Value };

/** cos/sin of every position × inverse frequency, [maxPositions, D/2], for RotaryEmbedding. */
function rotaryCaches(ctx: DecoderContext, positionIds: Value): Rope {
  const D = ctx.cfg.headDim;
  const P = ctx.cfg.maxPositions;
  const cos = new Float32Array(P * (D / 2)), sin = new Float32Array(P * (D / 2));
  for (let i = 0; i < D / 2; i++) {
    const f = 1 / ctx.cfg.ropeTheta ** ((2 * i) / D);
    for (let p = 0; p < P; p++) {
      cos[p * (D / 2) + i] = Math.cos(p * f);
      sin[p * (D / 2) + i] = Math.sin(p * f);
    }
  }
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer);
  return { kind: 'fused', positionIds, cosCache: ctx.g.weight('rotary.cos_cache', 'float32', [P, D / 2], bytes(cos)), sinCache: ctx.g.weight('rotary.sin_cache', 'float32', [P, D / 2], bytes(sin)) };
}

/** Rotary position embedding of x [B, T, heads·D] (the projection's output), as [B, T, heads, D]. */
function rotary(ctx: DecoderContext, x: Value, heads: number, rope: Rope): Value {
  const g = ctx.g;
  const D = ctx.cfg.headDim;
  if (rope.kind === 'tables') return applyRotary(ctx, g.reshape(x, [0, 0, heads, D]), rope);
  const shape = x.shape;
  const y = g.op('RotaryEmbedding', [x, rope.positionIds, rope.cosCache, rope.sinCache], { num_heads: heads, interleaved: 0 }, { domain: 'com.microsoft', out: [{ dtype: ctx.dtype, shape }] })[0];
  return g.reshape(y, [0, 0, heads, D]);
}

/** x·cos + rotate_half(x)·sin for x [B, T, heads, D]; rotate_half(x) = [-x2, x1]. */
function applyRotary(ctx: DecoderContext, x: Value, rope: { cos: Value; sin: Value }): Value {
  const g = ctx.g;
  const half = ctx.cfg.headDim / 2;
  const [x1, x2] = g.split(x, [half, half], -1);
  const rotated = g.concat([g.neg(x2), x1], -1);
  return g.add(g.mul(x, rope.cos), g.mul(rotated, rope.sin));
}

/**
 * Additive causal mask from positions: query at position p sees keys 0..p of the cache + new
 * tokens. Works for prefill, decode and right-padded batches alike. [B, 1, T, S]
 */
function causalMaskBias(ctx: DecoderContext, inputIds: Value, positionIds: Value, past0: Value | undefined): Value {
  const g = ctx.g;
  const T = g.gather(g.shapeOf(inputIds), g.constant(1), 0); // scalar
  const S = past0 ? g.add(T, g.gather(g.shapeOf(past0), g.constant(2), 0)) : T;
  const keyPos = g.op('Range', [g.constant(0), S, g.constant(1)])[0]; // [S]
  const queryPos = g.unsqueeze(positionIds, [1, 3]); // [B, 1, T, 1]
  const allowed = g.op('LessOrEqual', [keyPos, queryPos])[0]; // [B, 1, T, S]
  const wide = ctx.dtype === 'float64' ? 'float64' : 'float32';
  // A large finite negative (not -inf) so a fully masked row stays finite.
  return g.where(allowed, g.scalar(0, wide), g.scalar(-1e9, wide));
}

interface Attend {
  rope: Rope;
  /** Additive causal mask [B, 1, T, S] (the elementary attention). */
  maskBias?: Value;
  /** GroupQueryAttention's length inputs (fused serving with a cache). */
  gqa?: { seqlensK: Value; total: Value };
}

/** GroupQueryAttention's lengths: seqlens_k = S - 1 per row [B] and S, as int32 (S = P + T; no padding in serving). */
function gqaLengths(ctx: DecoderContext, inputIds: Value, past0: Value): { seqlensK: Value; total: Value } {
  const g = ctx.g;
  const S = g.add(g.gather(g.shapeOf(inputIds), g.constant(1), 0), g.gather(g.shapeOf(past0), g.constant(2), 0)); // int64 scalar
  const batch = g.gather(g.shapeOf(inputIds), g.constant([0]), 0); // [1]
  const seqlensK = g.expand(g.reshape(g.cast(g.sub(S, g.constant(1)), 'int32'), [1]), batch);
  return { seqlensK, total: g.cast(S, 'int32') };
}

function selfAttention(
  ctx: DecoderContext, x: Value, layer: number, attend: Attend,
  past: { key: Value; value: Value } | undefined, lora: (t: LoraTarget) => LoraPair | undefined,
): { out: Value; present?: { key: Value; value: Value } } {
  const p = `model.layers.${layer}.self_attn`;
  const q = linear(ctx, x, `${p}.q_proj`, lora('q_proj')); // [B, T, H·D]
  const k = linear(ctx, x, `${p}.k_proj`, lora('k_proj')); // [B, T, KV·D]
  const v = linear(ctx, x, `${p}.v_proj`, lora('v_proj'));
  const { out, present } = attention(ctx, layer, q, k, v, attend, past);
  return { out: linear(ctx, out, `${p}.o_proj`, lora('o_proj')), present };
}

/** Serving's attention block: one q/k/v projection, GroupQueryAttention where it applies, one o projection. */
function groupedSelfAttention(
  ctx: DecoderContext, x: Value, layer: number, attend: Attend,
  past: { key: Value; value: Value } | undefined, lora: Map<string, Value>,
): { out: Value; present?: { key: Value; value: Value } } {
  const g = ctx.g;
  const { numHeads: H, numKvHeads: KV, headDim: D } = ctx.cfg;
  const [qkv] = groupLinear(ctx, x, layer, 'qkv', lora); // [B, T, (H + 2·KV)·D]
  let out: Value;
  let present: { key: Value; value: Value } | undefined;
  if (attend.gqa && past && attend.rope.kind === 'fused') {
    // Rotary, the cache append and causal attention in one kernel, reading the packed q/k/v (in the cache's dtype).
    const kv = past.key.dtype;
    const names = [g.fresh('gqa'), presentName(layer, 'key'), presentName(layer, 'value')];
    const shape = qkv.shape ? [...qkv.shape.slice(0, -1), H * D] : undefined;
    const kvShape = past.key.shape ? [past.key.shape[0], KV, 'S', D] : undefined;
    const inputs = [g.cast(qkv, kv), undefined, undefined, past.key, past.value, attend.gqa.seqlensK, attend.gqa.total, g.cast(attend.rope.cosCache, kv), g.cast(attend.rope.sinCache, kv)];
    const [o, key, value] = g.op('GroupQueryAttention', inputs, { num_heads: H, kv_num_heads: KV, do_rotary: 1, rotary_interleaved: 0 }, {
      domain: 'com.microsoft', names,
      out: [{ dtype: kv, shape }, { dtype: kv, shape: kvShape }, { dtype: kv, shape: kvShape }],
    });
    out = g.cast(o, ctx.dtype);
    present = { key, value };
  } else {
    const [q, k, v] = g.split(qkv, [H * D, KV * D, KV * D], -1);
    ({ out, present } = attention(ctx, layer, q, k, v, attend, past));
  }
  return { out: groupLinear(ctx, out, layer, 'o', lora)[0], present };
}

/** Rotary, the cache append and attention of projected q [B, T, H·D], k and v [B, T, KV·D]; returns [B, T, H·D]. */
function attention(
  ctx: DecoderContext, layer: number, qp: Value, kp: Value, vp: Value, attend: Attend, past: { key: Value; value: Value } | undefined,
): { out: Value; present?: { key: Value; value: Value } } {
  const g = ctx.g;
  const { numHeads: H, numKvHeads: KV, headDim: D } = ctx.cfg;
  const R = H / KV;
  const maskBias = attend.maskBias!;
  const q = rotary(ctx, qp, H, attend.rope); // [B, T, H, D]
  const k = rotary(ctx, kp, KV, attend.rope); // [B, T, KV, D]
  const v = g.reshape(vp, [0, 0, KV, D]); // [B, T, KV, D]
  const qh = g.transpose(q, [0, 2, 1, 3]); // [B, H, T, D]
  let kh = g.transpose(k, [0, 2, 1, 3]); // [B, KV, T, D]
  let vh = g.transpose(v, [0, 2, 1, 3]); // [B, KV, T, D]
  let present: { key: Value; value: Value } | undefined;
  if (past) {
    // Named as the graph's outputs, so marking them as outputs adds no Identity copy.
    kh = g.op('Concat', [past.key, kh], { axis: 2 }, { names: [presentName(layer, 'key')] })[0]; // [B, KV, S, D]
    vh = g.op('Concat', [past.value, vh], { axis: 2 }, { names: [presentName(layer, 'value')] })[0]; // [B, KV, S, D]
    present = { key: kh, value: vh };
  }
  const wide = ctx.dtype === 'float16' ? 'float32' : ctx.dtype;
  if (past && R > 1) return { out: groupedAttention(ctx, qh, kh, vh, maskBias, R), present };
  // repeat_kv: each key/value head serves R query heads (head h uses kv head h / R).
  const kr = repeatKv(ctx, kh, R); // [B, H, S, D]
  const vr = repeatKv(ctx, vh, R); // [B, H, S, D]
  const scores = g.mul(g.matmul(qh, g.transpose(kr, [0, 1, 3, 2])), ctx.scalar(1 / Math.sqrt(D))); // [B, H, T, S]
  const probs = g.cast(g.softmax(g.add(g.cast(scores, wide), maskBias), -1), ctx.dtype); // [B, H, T, S]
  return { out: g.reshape(g.transpose(g.matmul(probs, vr), [0, 2, 1, 3]), [0, 0, H * D]), present }; // [B, T, H·D]
}

/**
 * GQA without copying the keys and values R times (serving, with a cache): the query heads are
 * grouped as [B, KV, R, T, D] and MatMul broadcasts each kv head over its R query heads. The
 * same numbers as repeat_kv + attention; the per-step Expand of the whole cache is gone.
 * Returns [B, T, H·D] (head h = kv·R + r, as repeat_kv orders them).
 */
function groupedAttention(ctx: DecoderContext, qh: Value, kh: Value, vh: Value, maskBias: Value, R: number): Value {
  const g = ctx.g;
  const { numHeads: H, numKvHeads: KV, headDim: D } = ctx.cfg;
  const wide = ctx.dtype === 'float16' ? 'float32' : ctx.dtype;
  const qg = g.reshape(qh, [0, KV, R, -1, D]); // [B, KV, R, T, D]
  const kt = g.transpose(g.unsqueeze(kh, [2]), [0, 1, 2, 4, 3]); // [B, KV, 1, D, S]
  const scores = g.mul(g.matmul(qg, kt), ctx.scalar(1 / Math.sqrt(D))); // [B, KV, R, T, S]
  const probs = g.cast(g.softmax(g.add(g.cast(scores, wide), g.unsqueeze(maskBias, [1])), -1), ctx.dtype); // mask [B, 1, 1, T, S]
  const out = g.matmul(probs, g.unsqueeze(vh, [2])); // [B, KV, R, T, D]
  return g.reshape(g.transpose(out, [0, 3, 1, 2, 4]), [0, 0, H * D]); // [B, T, H·D]
}

function repeatKv(ctx: DecoderContext, x: Value, R: number): Value {
  if (R === 1) return x;
  const g = ctx.g;
  const { numHeads: H, headDim: D } = ctx.cfg;
  const e = g.expand(g.unsqueeze(x, [2]), g.constant([1, 1, R, 1, 1])); // [B, KV, R, S, D]
  return g.reshape(e, [0, H, -1, D]); // [B, H, S, D]
}

/** down_proj(silu(gate_proj(x)) · up_proj(x)), silu(z) = z·sigmoid(z). */
function mlp(ctx: DecoderContext, x: Value, layer: number, lora: (t: LoraTarget) => LoraPair | undefined): Value {
  const g = ctx.g;
  const p = `model.layers.${layer}.mlp`;
  const gate = linear(ctx, x, `${p}.gate_proj`, lora('gate_proj')); // [B, T, I]
  const up = linear(ctx, x, `${p}.up_proj`, lora('up_proj')); // [B, T, I]
  return linear(ctx, g.mul(g.mul(gate, g.sigmoid(gate)), up), `${p}.down_proj`, lora('down_proj')); // [B, T, C]
}

/** Serving's MLP: gate and up as one projection, then down. */
function groupedMlp(ctx: DecoderContext, x: Value, layer: number, lora: Map<string, Value>): Value {
  const g = ctx.g;
  const [gate, up] = groupLinear(ctx, x, layer, 'gate_up', lora); // [B, T, I] each
  return groupLinear(ctx, g.mul(g.mul(gate, g.sigmoid(gate)), up), layer, 'down', lora)[0]; // [B, T, C]
}

/**
 * A projection group of serving (lora.ts LORA_GROUPS): the members' weights stacked as one
 * (4-bit: one MatMulNBits; otherwise one MatMul on the concatenated transposes, which onnxruntime
 * folds at load), their biases likewise, plus the group's packed LoRA update: one down MatMul
 * x·A for all members, then, with a stacked B, one up MatMul on the whole output, returned packed
 * ([y]); with a B per member, the output split by member and each one's update added to its part.
 */
function groupLinear(ctx: DecoderContext, x: Value, layer: number, group: string, lora: Map<string, Value>): Value[] {
  const g = ctx.g;
  const { members, stackedB } = LORA_GROUPS.find((gr) => gr.name === group)!;
  const names = members.map((t) => moduleName(layer, t));
  const quantized = names.map((n) => ctx.weights.quantized?.get(`${n}.weight`));
  let y: Value;
  if (quantized.every((q) => q)) y = matMulNBits(ctx, x, `model.layers.${layer}.${group}.weight`, stackRows(quantized as QuantizedWeight[]));
  else {
    const w = names.map((n) => g.transpose(ctx.w(`${n}.weight`), [1, 0])); // [in, out] each
    y = g.matmul(x, w.length > 1 ? g.concat(w, 1) : w[0]);
  }
  if (names.some((n) => ctx.has(`${n}.bias`))) {
    const b = members.map((t, i) => (ctx.has(`${names[i]}.bias`) ? ctx.w(`${names[i]}.bias`) : g.constant(new Array(projectionDimsOf(ctx.cfg, t).out).fill(0), ctx.dtype)));
    y = g.add(y, b.length > 1 ? g.concat(b, 0) : b[0]);
  }
  const A = lora.get(packedLoraName(layer, group, 'A'));
  const down = A && g.matmul(x, g.cast(A, ctx.dtype)); // [.., n·r]
  const B = (part: string) => g.cast(lora.get(packedLoraName(layer, part, 'B'))!, ctx.dtype);
  if (stackedB) return [down ? g.add(y, g.matmul(down, B(group))) : y];
  const parts = members.length > 1 ? g.split(y, members.map((t) => projectionDimsOf(ctx.cfg, t).out), -1) : [y];
  if (!down) return parts;
  const targeted = members.filter((t) => lora.has(packedLoraName(layer, t, 'B')));
  const rank = A.shape![1] as number / targeted.length;
  const downs = targeted.length > 1 ? g.split(down, targeted.map(() => rank), -1) : [down];
  return parts.map((part, i) => (targeted.includes(members[i]) ? g.add(part, g.matmul(downs[targeted.indexOf(members[i])], B(members[i]))) : part));
}

/** 4-bit weights of projections that read the same input, as one weight with their rows stacked. */
function stackRows(qs: QuantizedWeight[]): QuantizedWeight {
  if (qs.length === 1) return qs[0];
  const { k, blockSize } = qs[0];
  const n = qs.reduce((a, q) => a + q.n, 0);
  const packed = new Uint8Array(qs.reduce((a, q) => a + q.packed.length, 0));
  const scales = new Float32Array(qs.reduce((a, q) => a + q.scales.length, 0));
  let p = 0, s = 0;
  for (const q of qs) {
    if (q.k !== k || q.blockSize !== blockSize) throw new Error(`stackRows: K ${q.k} / block ${q.blockSize} differs from ${k} / ${blockSize}`);
    packed.set(q.packed, p);
    scales.set(q.scales, s);
    p += q.packed.length;
    s += q.scales.length;
  }
  return { n, k, blockSize, packed, scales };
}

function lmHead(ctx: DecoderContext, hidden: Value, which: 'all' | 'last'): Value {
  const g = ctx.g;
  const h = which === 'last' ? g.unsqueeze(g.gather(hidden, g.constant(-1), 1), [1]) : hidden; // [B, 1 | T, C]
  const name = ctx.cfg.tieWordEmbeddings || !ctx.has('lm_head.weight') ? 'model.embed_tokens' : 'lm_head';
  if (name === 'model.embed_tokens' && !ctx.cfg.tieWordEmbeddings) throw new Error('lm_head.weight is missing and tie_word_embeddings is false');
  return linear(ctx, h, name); // [B, T, V]
}
