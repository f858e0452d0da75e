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

/**
 * Serving's packed layout of an adapter, matching serving's grouped projections (decoder.ts): the
 * projections that read the same input (q/k/v, gate/up) run as one weight, so their LoRA down
 * projections are one MatMul too. A: the members' A matrices transposed side by side, `[in, n·r]`.
 * B: transposed and scaled by alpha/r. For q/k/v one block-diagonal B over the group's whole output,
 * `[n·r, out_q + out_k + out_v]` (its zeros are small next to one up MatMul and one Add instead of
 * three of each, and GroupQueryAttention reads q/k/v packed); for gate/up one `[r, out]` per member
 * (a block-diagonal B would be half zeros: 15 MB more read per token at the 0.5B geometry). The same
 * numbers as PEFT's x·Aᵀ·Bᵀ·(alpha/r). Built once per adapter swap (packLora).
 */
export const LORA_GROUPS: { name: string; members: LoraTarget[]; stackedB: boolean }[] = [
  { name: 'qkv', members: ['q_proj', 'k_proj', 'v_proj'], stackedB: true },
  { name: 'o', members: ['o_proj'], stackedB: true },
  { name: 'gate_up', members: ['gate_proj', 'up_proj'], stackedB: false },
  { name: 'down', members: ['down_proj'], stackedB: true },
];

/** The groups with at least one targeted member, members limited to the targets (`all`: the group's full member list). */
export function packedGroups(spec: LoraSpec): { name: string; members: LoraTarget[]; all: LoraTarget[]; stackedB: boolean }[] {
  return LORA_GROUPS.map((g) => ({ ...g, members: g.members.filter((t) => spec.targets.includes(t)), all: g.members })).filter((g) => g.members.length > 0);
}

/** Where each member's output sits in its group's output (q at 0, k after q, ...), and the group's width. */
export function groupColumns(cfg: ModelConfig, members: readonly LoraTarget[]): { offsets: Map<LoraTarget, number>; width: number } {
  const offsets = new Map<LoraTarget, number>();
  let width = 0;
  for (const t of members) {
    offsets.set(t, width);
    width += projectionDims(cfg, t).out;
  }
  return { offsets, width };
}

/** Graph input of the packed layout: `lora_packed.3.qkv.A`, `lora_packed.3.qkv.B`, `lora_packed.3.up_proj.B`. */
export function packedLoraName(layer: number, part: string, which: 'A' | 'B'): string {
  return `lora_packed.${layer}.${part}.${which}`;
}

/** Every packed input with its shape, in a stable order. */
export function packedLoraTensors(cfg: ModelConfig, spec: LoraSpec): { name: string; shape: [number, number] }[] {
  const out: { name: string; shape: [number, number] }[] = [];
  for (let layer = 0; layer < cfg.numLayers; layer++)
    for (const g of packedGroups(spec)) {
      const inDim = projectionDims(cfg, g.members[0]).in;
      const nr = g.members.length * spec.rank;
      out.push({ name: packedLoraName(layer, g.name, 'A'), shape: [inDim, nr] });
      if (g.stackedB) out.push({ name: packedLoraName(layer, g.name, 'B'), shape: [nr, groupColumns(cfg, g.all).width] });
      else for (const t of g.members) out.push({ name: packedLoraName(layer, t, 'B'), shape: [spec.rank, projectionDims(cfg, t).out] });
    }
  return out;
}

/** PEFT-named A/B tensors (a missing one is zero) in the packed layout. */
export function packLora(cfg: ModelConfig, spec: LoraSpec, tensors: Map<string, Float32Array>): Map<string, Float32Array> {
  const r = spec.rank;
  const s = spec.alpha / spec.rank;
  const out = new Map<string, Float32Array>();
  for (let layer = 0; layer < cfg.numLayers; layer++)
    for (const g of packedGroups(spec)) {
      const K = projectionDims(cfg, g.members[0]).in;
      const n = g.members.length;
      // Stacked: member m's rows m·r.. at its columns; per member: its own [r, out] from row 0, column 0.
      const { offsets, width } = g.stackedB ? groupColumns(cfg, g.all) : { offsets: undefined, width: 0 };
      const A = new Float32Array(K * n * r);
      const stacked = g.stackedB ? new Float32Array(n * r * width) : undefined;
      g.members.forEach((t, m) => {
        const src = tensors.get(loraInputName(layer, t, 'A'));
        if (src) for (let j = 0; j < r; j++) for (let i = 0; i < K; i++) A[i * n * r + m * r + j] = src[j * K + i];
        const N = projectionDims(cfg, t).out;
        const [B, row0, col, W] = stacked ? [stacked, m * r, offsets!.get(t)!, width] : [new Float32Array(r * N), 0, 0, N];
        const b = tensors.get(loraInputName(layer, t, 'B'));
        if (b) for (let o = 0; o < N; o++) for (let j = 0; j < r; j++) B[(row0 + j) * W + col + o] = s * b[o * r + j];
        if (!stacked) out.set(packedLoraName(layer, t, 'B'), B);
      });
      out.set(packedLoraName(layer, g.name, 'A'), A);
      if (stacked) out.set(packedLoraName(layer, g.name, 'B'), stacked);
    }
  return out;
}
