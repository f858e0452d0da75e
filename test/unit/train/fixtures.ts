// Shared helpers for the train tests: a micro Qwen2-layout model generated on the fly (seeded),
// its weight set, and a LoRA spec over every projection.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelConfig } from '../../../server/model/config';
import { openWeights } from '../../../server/model/safetensors';
import type { WeightSet } from '../../../server/model/decoder';
import { LORA_TARGETS, type LoraSpec } from '../../../server/model/lora';
import { makeModel, type MakeModelOptions } from '../../../scripts/make-model';

export const MICRO: ModelConfig = {
  architecture: 'qwen2', vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8,
  intermediateSize: 48, rmsNormEps: 1e-6, ropeTheta: 10000, attentionBias: true, tieWordEmbeddings: true,
  maxPositions: 256, eosTokenId: [1],
};

export const SPEC: LoraSpec = { rank: 4, alpha: 8, targets: [...LORA_TARGETS] };

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temp folder, removed when the test process exits. */
export function tempDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `hindsight-train-${tag}-`));
  made.push(d);
  return d;
}

/** A generated model folder (std 0.3 so the random model has non-trivial preferences). */
export function microModel(tag: string, over: Partial<ModelConfig> = {}, opts: MakeModelOptions = {}): { dir: string; cfg: ModelConfig; weights: WeightSet } {
  const dir = tempDir(tag);
  const cfg = { ...MICRO, ...over };
  makeModel(cfg, dir, { std: 0.3, seed: 3, ...opts });
  return { dir, cfg, weights: { tensors: openWeights(dir), mode: 'inline' } };
}
