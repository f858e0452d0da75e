// Reads a Hugging Face config.json (Qwen2ForCausalLM / LlamaForCausalLM) into the ModelConfig the
// graphs are built from. Leaves out rope scaling variants, sliding windows and MoE: a config that
// asks for them is refused with a message rather than served wrongly.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type Architecture = 'qwen2' | 'llama';

export interface ModelConfig {
  architecture: Architecture;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (GQA): numHeads is a multiple of it. */
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  /** q/k/v projections carry a bias (Qwen2 does, Llama does not by default). */
  attentionBias: boolean;
  tieWordEmbeddings: boolean;
  maxPositions: number;
  bosTokenId?: number;
  eosTokenId: number[];
  /** dtype the weights were saved in, per config.json (informative; the safetensors header decides). */
  torchDtype?: string;
}

export class ModelFolderError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ModelFolderError';
  }
}

/**
 * A value from a file as an error message shows it: JSON, cut to `max` characters. Safe for any
 * parsed JSON (JSON.stringify overflows the stack on deeply nested arrays that JSON.parse accepts).
 */
export function describe(v: unknown, max = 120): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '[…]' : typeof v === 'object' && v ? '{…}' : String(v);
  }
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

const ARCHS: Record<string, Architecture> = { Qwen2ForCausalLM: 'qwen2', LlamaForCausalLM: 'llama' };

/** Parse and validate config.json from a model folder. */
export function loadConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelFolderError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); a model folder needs config.json, *.safetensors and tokenizer.json`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ModelFolderError(file, `not valid JSON (${(e as Error).message})`);
  }
  return parseConfig(raw, file);
}

export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (!raw || typeof raw !== 'object') throw new ModelFolderError(file, 'expected a JSON object');
  const c = raw as Record<string, unknown>;
  const archName = Array.isArray(c.architectures) ? (typeof c.architectures[0] === 'string' ? c.architectures[0] : describe(c.architectures[0])) : undefined;
  // Own keys only: "constructor" is in every object.
  const architecture = archName ? (Object.hasOwn(ARCHS, archName) ? ARCHS[archName] : undefined) : c.model_type === 'qwen2' ? 'qwen2' : c.model_type === 'llama' ? 'llama' : undefined;
  if (!architecture) {
    const named = Array.isArray(c.architectures) ? c.architectures[0] : c.model_type;
    const shown = typeof named === 'string' ? (named.length > 120 ? `${named.slice(0, 120)}…` : named) : describe(named);
    throw new ModelFolderError(file, `unknown architecture ${shown}; supported: ${Object.keys(ARCHS).join(', ')}`);
  }
  const int = (key: string, fallback?: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ModelFolderError(file, `${key} must be a positive integer, got ${describe(c[key])}`);
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) throw new ModelFolderError(file, `${key} must be a positive number, got ${describe(c[key])}`);
    return v;
  };
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads) throw new ModelFolderError(file, `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const headDim = int('head_dim', Math.floor(hiddenSize / numHeads));
  if (headDim % 2) throw new ModelFolderError(file, `head_dim ${headDim} must be even for rotary embeddings`);
  const scaling = c.rope_scaling as { type?: string; rope_type?: string } | null | undefined;
  if (scaling && (scaling.rope_type ?? scaling.type) !== 'default')
    throw new ModelFolderError(file, `rope_scaling ${describe(scaling)} is not supported (only default rotary embeddings)`);
  if (c.use_sliding_window === true) throw new ModelFolderError(file, 'use_sliding_window=true is not supported');
  const tokenId = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  const eos = c.eos_token_id ?? [];
  const eosTokenId = (Array.isArray(eos) ? eos : [eos]) as number[];
  if (!eosTokenId.every(tokenId)) throw new ModelFolderError(file, `eos_token_id must be a token id or a list of them, got ${describe(c.eos_token_id)}`);
  if (c.bos_token_id != null && !tokenId(c.bos_token_id)) throw new ModelFolderError(file, `bos_token_id must be a token id, got ${describe(c.bos_token_id)}`);
  return {
    architecture,
    vocabSize: int('vocab_size'),
    hiddenSize,
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: int('intermediate_size'),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    // Qwen2 always has q/k/v bias (no config key); Llama has `attention_bias` (default false).
    attentionBias: architecture === 'qwen2' ? true : c.attention_bias === true,
    tieWordEmbeddings: c.tie_word_embeddings === true,
    maxPositions: int('max_position_embeddings', 32768),
    bosTokenId: tokenId(c.bos_token_id) ? (c.bos_token_id as number) : undefined,
    eosTokenId,
    torchDtype: typeof c.torch_dtype === 'string' ? c.torch_dtype : undefined,
  };
}

/** The inverse of parseConfig, for generated model folders. */
export function configToJson(cfg: ModelConfig): Record<string, unknown> {
  return {
    architectures: [cfg.architecture === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: cfg.architecture,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    num_key_value_heads: cfg.numKvHeads,
    head_dim: cfg.headDim,
    intermediate_size: cfg.intermediateSize,
    rms_norm_eps: cfg.rmsNormEps,
    rope_theta: cfg.ropeTheta,
    ...(cfg.architecture === 'llama' ? { attention_bias: cfg.attentionBias } : {}),
    tie_word_embeddings: cfg.tieWordEmbeddings,
    max_position_embeddings: cfg.maxPositions,
    hidden_act: 'silu',
    ...(cfg.bosTokenId !== undefined ? { bos_token_id: cfg.bosTokenId } : {}),
    eos_token_id: cfg.eosTokenId.length === 1 ? cfg.eosTokenId[0] : cfg.eosTokenId,
    ...(cfg.torchDtype ? { torch_dtype: cfg.torchDtype } : {}),
    use_sliding_window: false,
  };
}
