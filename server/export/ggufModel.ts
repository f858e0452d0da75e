// A Hugging Face model folder (and optionally a LoRA adapter merged into it) as a llama.cpp GGUF
// model, and a PEFT adapter as a GGUF LoRA adapter, so what Hindsight learned goes along to
// llama.cpp-based tools (llama.cpp's server, Ollama, LM Studio, llama.vscode). Names follow
// llama.cpp's tensor map (`blk.N.attn_q.weight` …) and its qwen2 hyperparameter keys; the
// tokenizer is written as llama.cpp's byte-level BPE ("gpt2" with the "qwen2" pre-tokenizer), with
// the FIM marker ids. Leaves out: Llama-architecture models (llama.cpp wants their q/k rotary
// layout permuted), which are refused with the reason.
import * as fs from 'node:fs';
import type { ModelConfig } from '../model/config';
import type { ModelFolder } from '../model/folder';
import { LORA_TARGETS, moduleName, projectionDims, type LoraTarget } from '../model/lora';
import { readTensorF32 } from '../model/safetensors';
import type { Adapter } from '../train/adapter';
import { bool, f32, FILE_TYPE, GgmlType, QK4_0, str, u32, writeGguf, type GgufTensor, type GgufValue } from './gguf';

export type GgufWeights = 'f32' | 'f16' | 'q4_0';
const MATRIX_TYPE: Record<GgufWeights, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, q4_0: GgmlType.Q4_0 };

/** llama.cpp's name for each LoRA-able projection. */
export const GGUF_PROJECTION: Record<LoraTarget, string> = {
  q_proj: 'attn_q', k_proj: 'attn_k', v_proj: 'attn_v', o_proj: 'attn_output', gate_proj: 'ffn_gate', up_proj: 'ffn_up', down_proj: 'ffn_down',
};

export class GgufExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GgufExportError';
  }
}

function requireQwen2(cfg: ModelConfig): void {
  if (cfg.architecture !== 'qwen2') throw new GgufExportError(`GGUF export supports Qwen2 models; this one is ${cfg.architecture} (llama.cpp wants a Llama model's q/k rotary layout permuted, which is not done here)`);
}

/** HF tensor name → llama.cpp's. */
export function ggufTensorName(hf: string): string {
  if (hf === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hf === 'model.norm.weight') return 'output_norm.weight';
  if (hf === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf);
  if (!m) throw new GgufExportError(`no GGUF name for tensor ${hf}`);
  const [, layer, inner, kind] = m;
  const names: Record<string, string> = {
    input_layernorm: 'attn_norm', post_attention_layernorm: 'ffn_norm',
    'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
    'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
  };
  if (!names[inner]) throw new GgufExportError(`no GGUF name for tensor ${hf}`);
  return `blk.${layer}.${names[inner]}.${kind}`;
}

/** The architecture keys llama.cpp reads for a qwen2 model. */
function hyperparameters(cfg: ModelConfig): [string, GgufValue][] {
  const a = 'qwen2';
  const kv: [string, GgufValue][] = [
    [`${a}.context_length`, u32(cfg.maxPositions)],
    [`${a}.embedding_length`, u32(cfg.hiddenSize)],
    [`${a}.block_count`, u32(cfg.numLayers)],
    [`${a}.feed_forward_length`, u32(cfg.intermediateSize)],
    [`${a}.attention.head_count`, u32(cfg.numHeads)],
    [`${a}.attention.head_count_kv`, u32(cfg.numKvHeads)],
    [`${a}.rope.freq_base`, f32(cfg.ropeTheta)],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(cfg.rmsNormEps)],
  ];
  // llama.cpp assumes head size = hidden / heads unless told.
  if (cfg.headDim * cfg.numHeads !== cfg.hiddenSize) kv.push([`${a}.attention.key_length`, u32(cfg.headDim)], [`${a}.attention.value_length`, u32(cfg.headDim)]);
  return kv;
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

/** llama.cpp's token types. */
const NORMAL = 1, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5;

/** tokenizer.json (byte-level BPE) as llama.cpp's tokenizer keys; ids past the tokenizer's are padding. */
export function tokenizerMetadata(tokenizerFile: string, cfg: ModelConfig): [string, GgufValue][] {
  let tj: TokenizerJson;
  try {
    tj = JSON.parse(fs.readFileSync(tokenizerFile, 'utf8')) as TokenizerJson;
  } catch (e) {
    throw new GgufExportError(`${tokenizerFile}: cannot read (${(e as Error).message})`);
  }
  if (tj.model?.type !== 'BPE' || !tj.model.vocab || !Array.isArray(tj.model.merges)) throw new GgufExportError(`${tokenizerFile}: GGUF export needs a byte-level BPE tokenizer with a vocab and merges`);
  const tokens: (string | undefined)[] = new Array(cfg.vocabSize);
  const types = new Int32Array(cfg.vocabSize).fill(UNUSED);
  const place = (id: number, s: string, type: number) => {
    if (!(Number.isInteger(id) && id >= 0 && id < cfg.vocabSize)) throw new GgufExportError(`${tokenizerFile}: token id ${id} (${JSON.stringify(s)}) is outside the model's ${cfg.vocabSize} embeddings`);
    tokens[id] = s;
    types[id] = type;
  };
  for (const [s, id] of Object.entries(tj.model.vocab)) place(id, s, NORMAL);
  const special = new Map<string, number>();
  for (const t of tj.added_tokens ?? []) {
    place(t.id, t.content, t.special ? CONTROL : USER_DEFINED);
    special.set(t.content, t.id);
  }
  const merges = tj.model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const eos = cfg.eosTokenId[0];
  const kv: [string, GgufValue][] = [
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str('qwen2')],
    ['tokenizer.ggml.tokens', { type: 'string[]', value: Array.from(tokens, (t, i) => t ?? `[PAD${i}]`) }],
    ['tokenizer.ggml.token_type', { type: 'i32[]', value: types }],
    ['tokenizer.ggml.merges', { type: 'string[]', value: merges }],
    ['tokenizer.ggml.eos_token_id', u32(eos)],
    ['tokenizer.ggml.padding_token_id', u32(eos)],
    ['tokenizer.ggml.bos_token_id', u32(cfg.bosTokenId ?? eos)],
    ['tokenizer.ggml.add_bos_token', bool(false)],
  ];
  for (const [key, content] of [['fim_pre', '<|fim_prefix|>'], ['fim_suf', '<|fim_suffix|>'], ['fim_mid', '<|fim_middle|>'], ['fim_pad', '<|fim_pad|>'], ['fim_sep', '<|file_sep|>'], ['fim_rep', '<|repo_name|>']] as const) {
    const id = special.get(content);
    if (id !== undefined) kv.push([`tokenizer.ggml.${key}_token_id`, u32(id)]);
  }
  return kv;
}

export interface ModelExportOptions {
  weights: GgufWeights;
  /** Merged into the projections: W + (alpha/r)·B·A. */
  adapter?: Adapter;
  name?: string;
  progress?: (fraction: number) => void;
}

/** Writes `folder` as a GGUF model (with `adapter` merged in, when given). */
export function exportModelGguf(folder: ModelFolder, file: string, o: ModelExportOptions): { bytes: number; tensors: number } {
  const cfg = folder.cfg;
  requireQwen2(cfg);
  const merge = new Map<string, (w: Float32Array) => void>();
  if (o.adapter) {
    const s = o.adapter.spec.alpha / o.adapter.spec.rank;
    for (let l = 0; l < cfg.numLayers; l++) {
      for (const t of o.adapter.spec.targets) {
        const A = o.adapter.tensors.get(`base_model.model.${moduleName(l, t)}.lora_A.weight`);
        const B = o.adapter.tensors.get(`base_model.model.${moduleName(l, t)}.lora_B.weight`);
        if (!A || !B) throw new GgufExportError(`the adapter has no LoRA pair for ${moduleName(l, t)}`);
        const { in: K, out: N } = projectionDims(cfg, t);
        merge.set(`${moduleName(l, t)}.weight`, (w) => addLowRank(w, B, A, N, K, o.adapter!.spec.rank, s));
      }
    }
  }
  const tensors: GgufTensor[] = [];
  for (const [hf, info] of folder.tensors) {
    const shape = info.shape;
    const matrix = shape.length === 2;
    const type = !matrix ? GgmlType.F32 : o.weights === 'q4_0' && shape[1] % QK4_0 !== 0 ? GgmlType.F16 : MATRIX_TYPE[o.weights];
    tensors.push({
      name: ggufTensorName(hf),
      shape,
      type,
      values: () => {
        const v = readTensorF32(info); // a fresh array (read from the file), so merging may write into it
        merge.get(hf)?.(v);
        return v;
      },
    });
  }
  const fileType = FILE_TYPE[MATRIX_TYPE[o.weights]];
  const metadata: [string, GgufValue][] = [
    ['general.architecture', str('qwen2')],
    ['general.type', str('model')],
    ['general.name', str(o.name ?? folder.name)],
    ['general.file_type', u32(fileType)],
    ...hyperparameters(cfg),
    ...tokenizerMetadata(folder.tokenizerFile, cfg),
  ];
  const r = writeGguf(file, metadata, tensors, o.progress);
  return { bytes: r.bytes, tensors: tensors.length };
}

/** w [N, K] += s · B [N, r] · A [r, K]. */
function addLowRank(w: Float32Array, B: Float32Array, A: Float32Array, N: number, K: number, r: number, s: number): void {
  const row = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    row.fill(0);
    for (let j = 0; j < r; j++) {
      const b = B[n * r + j];
      if (b === 0) continue;
      const a = j * K;
      for (let k = 0; k < K; k++) row[k] += b * A[a + k];
    }
    const o = n * K;
    for (let k = 0; k < K; k++) w[o + k] += s * row[k];
  }
}

/**
 * A PEFT adapter as llama.cpp's GGUF LoRA: `blk.N.<proj>.weight.lora_a` [r, in] and `.lora_b`
 * [out, r] in F32, with `adapter.lora.alpha` (llama.cpp scales by alpha / r, as PEFT does).
 */
export function exportAdapterGguf(adapter: Adapter, cfg: ModelConfig, file: string, name = 'hindsight-adapter'): { bytes: number; tensors: number } {
  requireQwen2(cfg);
  const tensors: GgufTensor[] = [];
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const t of LORA_TARGETS) {
      if (!adapter.spec.targets.includes(t)) continue;
      const { in: K, out: N } = projectionDims(cfg, t);
      const r = adapter.spec.rank;
      const key = (w: 'A' | 'B') => `base_model.model.${moduleName(l, t)}.lora_${w}.weight`;
      const A = adapter.tensors.get(key('A'));
      const B = adapter.tensors.get(key('B'));
      if (!A || !B) throw new GgufExportError(`the adapter has no LoRA pair for ${moduleName(l, t)}`);
      const base = `blk.${l}.${GGUF_PROJECTION[t]}.weight`;
      tensors.push({ name: `${base}.lora_a`, shape: [r, K], type: GgmlType.F32, values: () => A });
      tensors.push({ name: `${base}.lora_b`, shape: [N, r], type: GgmlType.F32, values: () => B });
    }
  }
  const metadata: [string, GgufValue][] = [
    ['general.architecture', str('qwen2')],
    ['general.type', str('adapter')],
    ['general.name', str(name)],
    ['adapter.type', str('lora')],
    ['adapter.lora.alpha', f32(adapter.spec.alpha)],
  ];
  const r = writeGguf(file, metadata, tensors);
  return { bytes: r.bytes, tensors: tensors.length };
}
