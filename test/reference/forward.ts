// Plain-TypeScript float64 reference forward for Qwen2/Llama, written straight from
// transformers' modeling_qwen2.py with loops (no graph, no ORT): the ground truth that the ONNX
// decoder is compared against. For tiny configs only (O(T²·L·C) in JS). LoRA per PEFT.
import type { ModelConfig } from '../../server/model/config';
import { loadConfig } from '../../server/model/config';
import { openWeights, readTensorF64 } from '../../server/model/safetensors';
import { moduleName, type LoraSpec, type LORA_TARGETS } from '../../server/model/lora';

export interface RefModel {
  cfg: ModelConfig;
  w: Map<string, Float64Array>;
}

export function loadReference(dir: string): RefModel {
  const cfg = loadConfig(dir);
  const w = new Map<string, Float64Array>();
  for (const [name, t] of openWeights(dir)) w.set(name, readTensorF64(t));
  return { cfg, w };
}

export interface RefAdapter {
  spec: LoraSpec;
  /** PEFT names → values (A [r, in], B [out, r], row-major). */
  tensors: Map<string, ArrayLike<number>>;
}

/** y[out] = W[out, in] · x[in] + b (+ LoRA). */
function linear(m: RefModel, x: Float64Array, module: string, lora?: RefAdapter): Float64Array {
  const W = m.w.get(`${module}.weight`)!;
  const b = m.w.get(`${module}.bias`);
  const nIn = x.length, nOut = W.length / nIn;
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < nIn; i++) s += W[o * nIn + i] * x[i];
    y[o] = s;
  }
  const target = module.split('.').pop() as (typeof LORA_TARGETS)[number];
  if (lora && lora.spec.targets.includes(target)) {
    const A = lora.tensors.get(`base_model.model.${module}.lora_A.weight`)!;
    const B = lora.tensors.get(`base_model.model.${module}.lora_B.weight`)!;
    const r = lora.spec.rank, scaling = lora.spec.alpha / r;
    const ax = new Float64Array(r);
    for (let k = 0; k < r; k++) for (let i = 0; i < nIn; i++) ax[k] += A[k * nIn + i] * x[i];
    for (let o = 0; o < nOut; o++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += B[o * r + k] * ax[k];
      y[o] += scaling * s;
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, w: Float64Array, eps: number): Float64Array {
  let ms = 0;
  for (const v of x) ms += v * v;
  const inv = 1 / Math.sqrt(ms / x.length + eps);
  return x.map((v, i) => v * inv * w[i]);
}

function rope(x: Float64Array, heads: number, D: number, pos: number, theta: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < D / 2; i++) {
      const f = pos / theta ** ((2 * i) / D);
      const c = Math.cos(f), s = Math.sin(f);
      const a = x[h * D + i], b = x[h * D + i + D / 2];
      out[h * D + i] = a * c - b * s;
      out[h * D + i + D / 2] = b * c + a * s;
    }
  return out;
}

/** Logits [T][V] for token ids at positions 0..T-1. */
export function referenceLogits(m: RefModel, ids: number[], lora?: RefAdapter): Float64Array[] {
  const { cfg } = m;
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D } = cfg;
  const T = ids.length;
  const E = m.w.get('model.embed_tokens.weight')!;
  let xs = ids.map((id) => E.slice(id * C, (id + 1) * C));
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}`;
    const a = xs.map((x) => rmsNorm(x, m.w.get(`${p}.input_layernorm.weight`)!, cfg.rmsNormEps));
    const q = a.map((x, t) => rope(linear(m, x, moduleName(l, 'q_proj'), lora), H, D, t, cfg.ropeTheta));
    const k = a.map((x, t) => rope(linear(m, x, moduleName(l, 'k_proj'), lora), KV, D, t, cfg.ropeTheta));
    const v = a.map((x) => linear(m, x, moduleName(l, 'v_proj'), lora));
    const attn = xs.map((_, t) => {
      const out = new Float64Array(H * D);
      for (let h = 0; h < H; h++) {
        const kvh = Math.floor(h / (H / KV));
        const scores = Array.from({ length: t + 1 }, (_, s) => {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[t][h * D + d] * k[s][kvh * D + d];
          return dot / Math.sqrt(D);
        });
        const mx = Math.max(...scores);
        const e = scores.map((z) => Math.exp(z - mx));
        const z = e.reduce((x, y) => x + y, 0);
        for (let s = 0; s <= t; s++) for (let d = 0; d < D; d++) out[h * D + d] += (e[s] / z) * v[s][kvh * D + d];
      }
      return linear(m, out, moduleName(l, 'o_proj'), lora);
    });
    const hs = xs.map((x, t) => x.map((v, i) => v + attn[t][i]));
    xs = hs.map((h) => {
      const n = rmsNorm(h, m.w.get(`${p}.post_attention_layernorm.weight`)!, cfg.rmsNormEps);
      const g = linear(m, n, moduleName(l, 'gate_proj'), lora);
      const u = linear(m, n, moduleName(l, 'up_proj'), lora);
      const act = g.map((z, i) => (z / (1 + Math.exp(-z))) * u[i]);
      const d = linear(m, act, moduleName(l, 'down_proj'), lora);
      return h.map((v, i) => v + d[i]);
    });
  }
  const head = cfg.tieWordEmbeddings ? 'model.embed_tokens' : 'lm_head';
  return xs.map((x) => linear(m, rmsNorm(x, m.w.get('model.norm.weight')!, cfg.rmsNormEps), head));
}

/** log-softmax of one row. */
export function logSoftmax(row: ArrayLike<number>): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) mx = Math.max(mx, row[i]);
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i] - mx);
  const lz = mx + Math.log(z);
  return Float64Array.from(row, (v) => v - lz);
}

