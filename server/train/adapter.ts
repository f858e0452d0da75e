// LoRA adapters in PEFT's on-disk format (adapter_config.json + adapter_model.safetensors with
// `base_model.model.<module>.lora_A.weight` [r, in] / `lora_B.weight` [out, r]), so an adapter
// trained here loads in PEFT and the other way round; PEFT's init (A kaiming-uniform, B zero);
// saved atomically and validated on load. The numbered versions of a workspace live in
// adapterStore.ts.
// Leaves out: DoRA, rsLoRA, per-module rank/alpha patterns, bias training (all refused on load).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, type ModelConfig } from '../model/config';
import { loraTensors, LORA_TARGETS, type LoraSpec, type LoraTarget } from '../model/lora';
import { readSafetensorsHeader, readTensorBytes, decodeFloats, writeSafetensors, type TensorToWrite } from '../model/safetensors';
import { seededRandom } from './random';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** The store's index, next to the version folders. */

export interface Adapter {
  spec: LoraSpec;
  /** PEFT key → values (row-major, A [r, in], B [out, r]). */
  tensors: Map<string, Float32Array>;
  /** base_model_name_or_path: the base this adapter was trained on. */
  baseModel: string;
}

export class AdapterError extends Error {
  constructor(readonly where: string, problem: string) {
    super(`adapter ${where}: ${problem}`);
    this.name = 'AdapterError';
  }
}

/**
 * PEFT's initialisation: A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0, so the adapted
 * model starts exactly at the base model. Deterministic in `seed`.
 */
export function initAdapter(cfg: ModelConfig, spec: LoraSpec, baseModel: string, seed: number): Adapter {
  const rand = seededRandom(seed);
  const tensors = new Map<string, Float32Array>();
  for (const t of loraTensors(cfg, spec)) {
    const a = new Float32Array(t.shape[0] * t.shape[1]);
    if (t.which === 'A') {
      const bound = 1 / Math.sqrt(t.shape[1]);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rand() - 1) * bound;
    }
    tensors.set(t.name, a);
  }
  return { spec, tensors, baseModel };
}

/** adapter_config.json as PEFT's LoraConfig writes it (fields PEFT needs to rebuild the adapter). */
export function peftConfig(spec: LoraSpec, baseModel: string): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: spec.rank,
    lora_alpha: spec.alpha,
    target_modules: [...spec.targets],
    lora_dropout: 0,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
}

/** Write `adapter` into `dir` (which must not exist) atomically: temp folder, fsync, rename. */
export function saveAdapter(dir: string, adapter: Adapter, cfg: ModelConfig, metadata: Record<string, string> = {}): void {
  validateAdapter(adapter, cfg, dir);
  if (fs.existsSync(dir)) throw new AdapterError(dir, 'already exists; adapter versions are never overwritten');
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.tmp-${path.basename(dir)}-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmp);
  try {
    const tensors: Record<string, TensorToWrite> = {};
    for (const t of loraTensors(cfg, adapter.spec)) tensors[t.name] = { dtype: 'F32', shape: t.shape, data: adapter.tensors.get(t.name)! };
    writeSafetensors(path.join(tmp, ADAPTER_WEIGHTS), tensors, { format: 'pt', ...metadata });
    fs.writeFileSync(path.join(tmp, ADAPTER_CONFIG), JSON.stringify(peftConfig(adapter.spec, adapter.baseModel), null, 2) + '\n');
    for (const f of [ADAPTER_WEIGHTS, ADAPTER_CONFIG]) fsyncPath(path.join(tmp, f), 'r+');
    fsyncPath(tmp, 'r');
    fs.renameSync(tmp, dir);
    fsyncPath(parent, 'r');
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

function fsyncPath(p: string, flags: string): void {
  const fd = fs.openSync(p, flags);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export interface LoadOptions {
  /** Refuse an adapter whose base_model_name_or_path differs (when given). */
  baseModel?: string;
}

/** Load and validate a PEFT adapter folder against the base model's config. */
export function loadAdapter(dir: string, cfg: ModelConfig, opts: LoadOptions = {}): Adapter {
  const cfgFile = path.join(dir, ADAPTER_CONFIG);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  } catch (e) {
    throw new AdapterError(cfgFile, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new AdapterError(cfgFile, `is not a JSON object (got ${describe(raw)})`);
  const spec = specFromPeft(raw, cfgFile);
  const baseModel = typeof raw.base_model_name_or_path === 'string' ? raw.base_model_name_or_path : '';
  if (opts.baseModel !== undefined && baseModel !== opts.baseModel)
    throw new AdapterError(cfgFile, `was trained on base model '${baseModel}', not '${opts.baseModel}'`);

  const file = path.join(dir, ADAPTER_WEIGHTS);
  let header;
  try {
    header = readSafetensorsHeader(file);
  } catch (e) {
    throw new AdapterError(file, (e as Error).message.replace(`${file}: `, ''));
  }
  const expected = loraTensors(cfg, spec);
  const want = new Set(expected.map((t) => t.name));
  for (const name of header.tensors.keys())
    if (!want.has(name)) throw new AdapterError(file, `unexpected tensor ${name} (only lora_A/lora_B of ${spec.targets.join(', ')} in ${cfg.numLayers} layers are supported)`);
  const tensors = new Map<string, Float32Array>();
  for (const t of expected) {
    const info = header.tensors.get(t.name);
    if (!info) throw new AdapterError(file, `tensor ${t.name} is missing`);
    if (info.shape.length !== 2 || info.shape[0] !== t.shape[0] || info.shape[1] !== t.shape[1])
      throw new AdapterError(file, `tensor ${t.name} has shape [${info.shape}], expected [${t.shape}] (r=${spec.rank}; does the adapter belong to this model?)`);
    if (!['F32', 'F16', 'BF16', 'F64'].includes(info.dtype)) throw new AdapterError(file, `tensor ${t.name} has dtype ${info.dtype}, expected a float type`);
    tensors.set(t.name, Float32Array.from(decodeFloats(readTensorBytes(info), info.dtype)));
  }
  const adapter = { spec, tensors, baseModel };
  validateAdapter(adapter, cfg, dir);
  return adapter;
}

/** LoraSpec from adapter_config.json; refuses the PEFT features the graphs do not implement. */
export function specFromPeft(raw: Record<string, unknown>, where: string): LoraSpec {
  if (raw.peft_type !== 'LORA') throw new AdapterError(where, `peft_type is ${describe(raw.peft_type)}, only LORA is supported`);
  if (raw.task_type !== undefined && raw.task_type !== 'CAUSAL_LM') throw new AdapterError(where, `task_type is ${describe(raw.task_type)}, expected CAUSAL_LM`);
  const r = raw.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= 0) throw new AdapterError(where, `r must be a positive integer, got ${describe(r)}`);
  const alpha = raw.lora_alpha;
  if (typeof alpha !== 'number' || !(alpha > 0)) throw new AdapterError(where, `lora_alpha must be a positive number, got ${describe(alpha)}`);
  for (const k of ['use_dora', 'use_rslora', 'fan_in_fan_out'])
    if (raw[k] === true) throw new AdapterError(where, `${k}=true is not supported`);
  for (const k of ['rank_pattern', 'alpha_pattern'])
    if (raw[k] && Object.keys(raw[k] as object).length) throw new AdapterError(where, `${k} (per-module rank/alpha) is not supported`);
  if (raw.layers_to_transform != null) throw new AdapterError(where, 'layers_to_transform is not supported (every layer is adapted)');
  if (raw.bias !== undefined && raw.bias !== 'none') throw new AdapterError(where, `bias=${describe(raw.bias)} is not supported`);
  const tm = raw.target_modules;
  if (!Array.isArray(tm) || !tm.length) throw new AdapterError(where, `target_modules must be a non-empty list of ${LORA_TARGETS.join(', ')} (a regex string is not supported)`);
  for (const t of tm) if (!LORA_TARGETS.includes(t)) throw new AdapterError(where, `target module ${describe(t)} is not one of ${LORA_TARGETS.join(', ')}`);
  // Stable order (the model's), whatever order the file lists them in.
  const targets = LORA_TARGETS.filter((t) => tm.includes(t)) as LoraTarget[];
  return { rank: r, alpha, targets };
}

/** Shapes, completeness and finiteness of an in-memory adapter. */
export function validateAdapter(a: Adapter, cfg: ModelConfig, where: string): void {
  const expected = loraTensors(cfg, a.spec);
  if (a.tensors.size !== expected.length) throw new AdapterError(where, `has ${a.tensors.size} tensors, expected ${expected.length}`);
  for (const t of expected) {
    const v = a.tensors.get(t.name);
    if (!v) throw new AdapterError(where, `tensor ${t.name} is missing`);
    if (v.length !== t.shape[0] * t.shape[1]) throw new AdapterError(where, `tensor ${t.name} has ${v.length} values, expected [${t.shape}]`);
    for (let i = 0; i < v.length; i++)
      if (!Number.isFinite(v[i])) throw new AdapterError(where, `tensor ${t.name} holds a non-finite value (${v[i]}) at index ${i}`);
  }
}
