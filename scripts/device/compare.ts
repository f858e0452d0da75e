// Checks the ONNX decoder against golden logits from transformers (compare_transformers.py) on a
// GPU machine that has PyTorch; this workplace lends none, so it has not run here. Usage:
//   node --import tsx scripts/device/compare.ts MODEL_DIR golden.json [ADAPTER_DIR]
// ADAPTER_DIR holds adapter.safetensors + adapter_config.json (PEFT) for the lora_logits check.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { openModelFolder } from '../../server/model/folder';
import { buildForwardGraph } from '../../server/model/session';
import { readSafetensorsHeader, readTensorF32 } from '../../server/model/safetensors';
import type { LoraSpec, LoraTarget } from '../../server/model/lora';

async function logits(dir: string, ids: number[], lora?: { spec: LoraSpec; tensors: Map<string, Float32Array> }): Promise<Float32Array> {
  const f = openModelFolder(dir);
  const g = buildForwardGraph(f.cfg, { tensors: f.tensors, mode: 'inline' }, { cache: false, lora: lora?.spec });
  const s = await ort.InferenceSession.create(g.encode());
  const i64 = (xs: number[]) => new ort.Tensor('int64', BigInt64Array.from(xs.map(BigInt)), [1, xs.length]);
  const feeds: Record<string, ort.Tensor> = { input_ids: i64(ids), position_ids: i64(ids.map((_, i) => i)) };
  for (const [name, v] of lora?.tensors ?? []) feeds[name] = new ort.Tensor('float32', v, g.values.get(name)!.shape as number[]);
  return (await s.run(feeds)).logits.data as Float32Array;
}

async function main() {
  const [dir, goldenFile, adapterDir] = process.argv.slice(2);
  const golden = JSON.parse(fs.readFileSync(goldenFile, 'utf8')) as { ids: number[]; logits: number[][]; lora_logits?: number[][] };
  const diff = (a: Float32Array, b: number[][]) => b.flat().reduce((m, v, i) => Math.max(m, Math.abs(v - a[i])), 0);
  const base = diff(await logits(dir, golden.ids), golden.logits);
  console.log(`base logits: max |onnx − transformers| = ${base.toExponential(2)}`);
  let ok = base < 1e-4;
  if (adapterDir && golden.lora_logits) {
    const conf = JSON.parse(fs.readFileSync(path.join(adapterDir, 'adapter_config.json'), 'utf8'));
    const spec: LoraSpec = { rank: conf.r, alpha: conf.lora_alpha, targets: conf.target_modules as LoraTarget[] };
    const header = readSafetensorsHeader(path.join(adapterDir, 'adapter_model.safetensors'));
    const tensors = new Map([...header.tensors].map(([n, t]) => [n, readTensorF32(t)])); // PEFT saves the names lora.ts builds
    const lora = diff(await logits(dir, golden.ids, { spec, tensors }), golden.lora_logits);
    console.log(`LoRA logits: max |onnx − transformers+PEFT| = ${lora.toExponential(2)}`);
    ok &&= lora < 1e-4;
  }
  process.exit(ok ? 0 : 1);
}

main();
