// Shared helpers for model tests: small generated model folders and ORT feeds.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../../../server/model/config';
import { makeModel, type MakeModelOptions } from '../../../scripts/make-model';

export const SMALL: ModelConfig = {
  architecture: 'qwen2', vocabSize: 97, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8,
  intermediateSize: 48, rmsNormEps: 1e-6, ropeTheta: 10000, attentionBias: true, tieWordEmbeddings: false,
  maxPositions: 128, eosTokenId: [1],
};

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hindsight-${tag}-`));
}

/** A generated model folder with larger-than-HF weights (std 0.3) so differences show in logits. */
export function smallModel(tag: string, over: Partial<ModelConfig> = {}, opts: MakeModelOptions = {}): { dir: string; cfg: ModelConfig } {
  const dir = tempDir(tag);
  const cfg = { ...SMALL, ...over };
  makeModel(cfg, dir, { std: 0.3, seed: 7, ...opts });
  return { dir, cfg };
}

export const ids64 = (xs: number[], dims = [1, xs.length]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), dims);
export const positions = (start: number, n: number) => ids64(Array.from({ length: n }, (_, i) => start + i));

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export const flat = (rows: ArrayLike<number>[]) => rows.flatMap((r) => Array.from(r));
