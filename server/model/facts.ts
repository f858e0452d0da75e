// What an opened model folder holds, for the editor's words ("Qwen2.5-Coder-0.5B, 494M parameters,
// 988 MB BF16"): from the safetensors headers the folder check already read, no tensor bytes.
import * as fs from 'node:fs';
import type { model } from '../../protocol';
import type { ModelFolder } from './folder';
import { weightFiles } from './session';

export function modelFacts(folder: ModelFolder): model.ModelFacts {
  let parameters = 0;
  const byDtype = new Map<string, number>();
  for (const t of folder.tensors.values()) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    parameters += n;
    byDtype.set(t.dtype, (byDtype.get(t.dtype) ?? 0) + n);
  }
  const dtype = [...byDtype].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown';
  const bytes = weightFiles(folder.tensors).reduce((sum, f) => sum + fs.statSync(f).size, 0);
  return {
    name: folder.name,
    architecture: folder.cfg.architecture,
    parameters,
    bytes,
    dtype,
    layers: folder.cfg.numLayers,
    contextLength: folder.cfg.maxPositions,
  };
}
