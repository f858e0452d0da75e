// LoRA adapter naming and geometry, shared by serving (graph inputs), training (gradients, PEFT
// export) and tests: one function builds the per-layer names, with PEFT's keys, so an adapter
// saved by the trainer loads in PEFT and vice versa. Leaves out: the adapter values themselves.
import type { ModelConfig } from './config';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraSpec {
  /** PEFT's `r`. */
  rank: number;
  /** PEFT's `lora_alpha`; the update is scaled by alpha / rank (PEFT's `scaling`). */
  alpha: number;
  targets: LoraTarget[];
}

/** The module path of a projection inside the HF checkpoint (`model.layers.3.mlp.up_proj`). */
export function moduleName(layer: number, target: LoraTarget): string {
  const block = ['gate_proj', 'up_proj', 'down_proj'].includes(target) ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${target}`;
}

/** PEFT's key for a LoRA matrix: `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`. */
export function loraInputName(layer: number, target: LoraTarget, which: 'A' | 'B'): string {
  return `base_model.model.${moduleName(layer, target)}.lora_${which}.weight`;
}

/** [in, out] features of a projection. */
export function projectionDims(cfg: ModelConfig, target: LoraTarget): { in: number; out: number } {
  const C = cfg.hiddenSize, Q = cfg.numHeads * cfg.headDim, KV = cfg.numKvHeads * cfg.headDim, I = cfg.intermediateSize;
  switch (target) {
    case 'q_proj': return { in: C, out: Q };
    case 'k_proj': case 'v_proj': return { in: C, out: KV };
    case 'o_proj': return { in: Q, out: C };
    case 'gate_proj': case 'up_proj': return { in: C, out: I };
    case 'down_proj': return { in: I, out: C };
  }
}

export interface LoraTensorSpec {
  name: string;
  layer: number;
  target: LoraTarget;
  which: 'A' | 'B';
  /** A is [r, in], B is [out, r] (PEFT layout). */
  shape: [number, number];
}

/** Every LoRA tensor of a spec, in a stable order (layer, target, A then B). */
export function loraTensors(cfg: ModelConfig, spec: LoraSpec): LoraTensorSpec[] {
  const out: LoraTensorSpec[] = [];
  for (let layer = 0; layer < cfg.numLayers; layer++)
    for (const target of LORA_TARGETS) {
      if (!spec.targets.includes(target)) continue;
      const d = projectionDims(cfg, target);
      out.push({ name: loraInputName(layer, target, 'A'), layer, target, which: 'A', shape: [spec.rank, d.in] });
      out.push({ name: loraInputName(layer, target, 'B'), layer, target, which: 'B', shape: [d.out, spec.rank] });
    }
  return out;
}

/** A zero adapter (B = 0 gives exactly the base model); A is filled so gradients can flow. */
export function zeroAdapter(cfg: ModelConfig, spec: LoraSpec): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const t of loraTensors(cfg, spec)) m.set(t.name, new Float32Array(t.shape[0] * t.shape[1]));
  return m;
}
