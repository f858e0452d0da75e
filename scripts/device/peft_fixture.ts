// Writes what scripts/device/peft_check.py compares against PyTorch + PEFT on a machine that has
// them: a generated micro Qwen2 model, a LoRA adapter saved by server/train/adapter.ts (PEFT
// format, non-zero B), and this project's float64 logits and cross-entropy LoRA gradients.
// The CE gradient comes from the real train graph: with behaviour = current log-probs and
// A_t = 1 the PPO loss's gradient is exactly that of −mean_t log π(y_t).
// Usage: node --import tsx scripts/device/peft_fixture.ts OUT_DIR
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { makeModel } from '../make-model';
import type { ModelConfig } from '../../server/model/config';
import { openWeights } from '../../server/model/safetensors';
import { buildForwardGraph } from '../../server/model/session';
import { LORA_TARGETS, type LoraSpec } from '../../server/model/lora';
import { initAdapter, saveAdapter } from '../../server/train/adapter';
import { Trainer } from '../../server/train/step';
import { seededRandom } from '../../server/train/random';

const CFG: ModelConfig = {
  architecture: 'qwen2', vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 8,
  intermediateSize: 48, rmsNormEps: 1e-6, ropeTheta: 10000, attentionBias: true, tieWordEmbeddings: true,
  maxPositions: 256, eosTokenId: [1],
};
const SPEC: LoraSpec = { rank: 4, alpha: 8, targets: [...LORA_TARGETS] };

async function main(out: string): Promise<void> {
  fs.rmSync(out, { recursive: true, force: true });
  const modelDir = path.join(out, 'model');
  makeModel(CFG, modelDir, { std: 0.3, seed: 3, tokenizer: false });
  const weights = { tensors: openWeights(modelDir), mode: 'inline' as const };
  const adapter = initAdapter(CFG, SPEC, 'model', 17);
  const r = seededRandom(18);
  for (const [k, v] of adapter.tensors) if (k.includes('lora_B')) for (let i = 0; i < v.length; i++) v[i] = (2 * r() - 1) * 0.1;
  saveAdapter(path.join(out, 'adapter'), adapter, CFG);

  const context = [3, 17, 5, 40, 22, 9], response = [8, 61, 12, 9, 33];
  const ids = [...context, ...response].slice(0, -1);
  // logits of every position under base + adapter, float64
  const g = buildForwardGraph(CFG, weights, { dtype: 'float64', lora: SPEC, cache: false });
  const s = await ort.InferenceSession.create(g.encode(), { graphOptimizationLevel: 'basic' });
  const i64 = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
  const feeds: Record<string, ort.Tensor> = { input_ids: i64(ids), position_ids: i64(ids.map((_, t) => t)) };
  for (const [k, v] of adapter.tensors) feeds[k] = new ort.Tensor('float64', Float64Array.from(v), [...g.values.get(k)!.shape!] as number[]);
  const logits = Array.from((await s.run(feeds)).logits.data as Float64Array);
  await s.release();

  // CE gradients through the train graph (float64): ratio 1, A = 1
  const tr = await Trainer.create(CFG, weights, { dtype: 'float64', spec: SPEC, adapter });
  const probe = { context, response, behaviourLogprobs: response.map(() => 0), advantages: response.map(() => 1) };
  const lp = (await tr.evaluate([probe])).logprobs[0];
  const ev = await tr.evaluate([{ ...probe, behaviourLogprobs: lp }]);
  await tr.release();
  const grads = Object.fromEntries([...ev.grads.sum].map(([k, v]) => [k, Array.from(v)]));
  fs.writeFileSync(path.join(out, 'expected.json'), JSON.stringify({ context, response, input_ids: ids, vocab: CFG.vocabSize, logits, ce_loss: -lp.reduce((a, b) => a + b, 0) / lp.length, grads }));
  console.log(`wrote ${out}: model, adapter (PEFT), expected.json (${Object.keys(grads).length} LoRA gradients)`);
}

main(process.argv[2] ?? '.tmp/train/peft-fixture').catch((e) => {
  console.error(e);
  process.exit(1);
});
