// Opens a local Hugging Face model folder and checks it against its own config before any graph
// is built: config.json, *.safetensors (single or sharded), tokenizer.json. Every failure names the
// file and the problem (missing file, wrong shape, unknown architecture, truncated weights, bad JSON).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, loadConfig, ModelFolderError, type ModelConfig } from './config';
import { openWeights, type TensorInfo } from './safetensors';

export interface ModelFolder {
  dir: string;
  /** Folder name, for logs and results. */
  name: string;
  cfg: ModelConfig;
  tensors: Map<string, TensorInfo>;
  tokenizerFile: string;
  /**
   * How serving lays out a prompt: 'fim' (prefix and suffix around FIM markers, the default when
   * the tokenizer has them) or 'prefix' (only the text before the cursor, as a causal model reads
   * it). A folder's optional hindsight.json {"prompt": "prefix"} chooses it, for a model whose FIM
   * is measured to be weaker than its plain continuation.
   */
  prompt?: PromptLayout;
}

export type PromptLayout = 'fim' | 'prefix';

/** The optional hindsight.json of a model folder: Hindsight's serving choices for this model. */
export const SERVING_FILE = 'hindsight.json';

function readServingChoices(dir: string): { prompt?: PromptLayout } {
  const file = path.join(dir, SERVING_FILE);
  if (!fs.existsSync(file)) return {};
  let j: unknown;
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelFolderError(file, `not valid JSON (${(e as Error).message})`);
  }
  const prompt = (j as { prompt?: unknown } | null)?.prompt;
  if (prompt !== undefined && prompt !== 'fim' && prompt !== 'prefix') throw new ModelFolderError(file, `"prompt" must be "fim" or "prefix", not ${describe(prompt)}`);
  return prompt ? { prompt } : {};
}

export type TensorKind = 'proj' | 'bias' | 'norm' | 'embed';

/** Tensor names and shapes a checkpoint of this config holds, in the HF order. */
export function checkpointTensors(cfg: ModelConfig): { name: string; shape: number[]; kind: TensorKind }[] {
  return [...expectedTensors(cfg)];
}

/** checkpointTensors one at a time: a config.json claiming 10^9 layers is refused at the first missing one, not listed. */
function* expectedTensors(cfg: ModelConfig): Generator<{ name: string; shape: number[]; kind: TensorKind }> {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: I, vocabSize: V } = cfg;
  yield { name: 'model.embed_tokens.weight', shape: [V, C], kind: 'embed' };
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}`;
    yield { name: `${p}.input_layernorm.weight`, shape: [C], kind: 'norm' };
    for (const [n, o] of [['q_proj', H * D], ['k_proj', KV * D], ['v_proj', KV * D]] as const) {
      yield { name: `${p}.self_attn.${n}.weight`, shape: [o, C], kind: 'proj' };
      if (cfg.attentionBias) yield { name: `${p}.self_attn.${n}.bias`, shape: [o], kind: 'bias' };
    }
    yield { name: `${p}.self_attn.o_proj.weight`, shape: [C, H * D], kind: 'proj' };
    if (cfg.attentionBias && cfg.architecture === 'llama') yield { name: `${p}.self_attn.o_proj.bias`, shape: [C], kind: 'bias' };
    yield { name: `${p}.post_attention_layernorm.weight`, shape: [C], kind: 'norm' };
    yield { name: `${p}.mlp.gate_proj.weight`, shape: [I, C], kind: 'proj' };
    yield { name: `${p}.mlp.up_proj.weight`, shape: [I, C], kind: 'proj' };
    yield { name: `${p}.mlp.down_proj.weight`, shape: [C, I], kind: 'proj' };
  }
  yield { name: 'model.norm.weight', shape: [C], kind: 'norm' };
  if (!cfg.tieWordEmbeddings) yield { name: 'lm_head.weight', shape: [V, C], kind: 'proj' };
}

/** Check that every tensor the config implies exists with the right shape and a float dtype. */
export function validateCheckpoint(cfg: ModelConfig, tensors: Map<string, TensorInfo>, dir: string): void {
  for (const want of expectedTensors(cfg)) {
    const t = tensors.get(want.name);
    if (!t) throw new ModelFolderError(path.join(dir, 'model.safetensors'), `tensor ${want.name} is missing (config.json implies it)`);
    if (t.shape.join(',') !== want.shape.join(','))
      throw new ModelFolderError(t.file, `tensor ${want.name} has shape [${t.shape}] but config.json implies [${want.shape}]`);
    if (!['F32', 'BF16', 'F16'].includes(t.dtype)) throw new ModelFolderError(t.file, `tensor ${want.name} has dtype ${t.dtype}; expected F32, BF16 or F16`);
  }
}

/** Open and validate a model folder (reads headers only; no tensor bytes). */
export function openModelFolder(dir: string): ModelFolder {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ModelFolderError(dir, 'is not a folder (set hindsight.model.path to a local Hugging Face model folder)');
  const cfg = loadConfig(dir);
  const tensors = openWeights(dir);
  validateCheckpoint(cfg, tensors, dir);
  const tokenizerFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(tokenizerFile)) throw new ModelFolderError(tokenizerFile, 'missing (the model folder needs its tokenizer.json)');
  return { dir, name: path.basename(path.resolve(dir)), cfg, tensors, tokenizerFile, ...readServingChoices(dir) };
}
