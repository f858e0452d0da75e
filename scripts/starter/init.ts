// A freshly initialised starter model folder: config.json + model.safetensors (float32), the
// GPT-2/Qwen2 scheme — normal(0, 0.02) projections and embedding, residual outputs (o_proj,
// down_proj) scaled by 1/√(2L), norms at 1, biases at 0. Deterministic for a seed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configToJson, type ModelConfig } from '../../server/model/config';
import { checkpointTensors } from '../../server/model/folder';
import { SafetensorsWriter, encodeFloats } from '../../server/model/safetensors';
import { seededRandom } from '../../server/train/random';

export function initialWeights(cfg: ModelConfig, seed: number): Map<string, Float32Array> {
  const r = seededRandom(seed);
  const normal = (n: number, std: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = Math.max(r(), 1e-300), v = r();
      const m = Math.sqrt(-2 * Math.log(u)) * std;
      out[i] = m * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
    }
    return out;
  };
  const out = new Map<string, Float32Array>();
  for (const t of checkpointTensors(cfg)) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.kind === 'norm') out.set(t.name, new Float32Array(n).fill(1));
    else if (t.kind === 'bias') out.set(t.name, new Float32Array(n));
    else {
      const residual = /o_proj|down_proj/.test(t.name);
      out.set(t.name, normal(n, residual ? 0.02 / Math.sqrt(2 * cfg.numLayers) : 0.02));
    }
  }
  return out;
}

/** Write config.json + model.safetensors (F32, or a 16-bit export) to `dir`. */
export function writeModelFolder(dir: string, cfg: ModelConfig, weights: Map<string, ArrayLike<number>>, dtype: 'F32' | 'F16' | 'BF16' = 'F32', metadata?: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  const torchDtype = dtype === 'F32' ? 'float32' : dtype === 'F16' ? 'float16' : 'bfloat16';
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configToJson({ ...cfg, torchDtype }), null, 2) + '\n');
  const tensors = checkpointTensors(cfg);
  const tmp = path.join(dir, 'model.safetensors.tmp');
  const w = new SafetensorsWriter(tmp, tensors.map((t) => ({ name: t.name, dtype, shape: t.shape })), { format: 'pt', ...metadata });
  try {
    for (const t of tensors) w.write(t.name, encodeFloats(weights.get(t.name)!, dtype));
  } finally {
    w.close();
  }
  fs.renameSync(tmp, path.join(dir, 'model.safetensors'));
}
