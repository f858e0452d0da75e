// The ONNX decoder matches the float64 plain-TS reference (test/reference/forward.ts) for both
// architectures, GQA, biases, tied/untied embeddings, sharded and BF16 weights; the KV cache
// reproduces the full forward; LoRA inputs act exactly as merged weights W + (alpha/r)·B·A.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadConfig } from '../../../server/model/config';
import { openWeights, readTensorF64, writeSafetensors, type TensorToWrite } from '../../../server/model/safetensors';
import { buildForwardGraph, writeModelFile, pastName, presentName, ortOptionsFor } from '../../../server/model/session';
import { modelCacheDir } from '../../../server/model/modelCache';
import { loraTensors, loraInputName, moduleName, type LoraSpec } from '../../../server/model/lora';
import { loadReference, referenceLogits } from '../../reference/forward';
import { Rng } from '../../../scripts/make-model';
import { smallModel, ids64, positions, maxAbsDiff, flat } from './fixtures';
import type { DecoderOptions } from '../../../server/model/decoder';

const IDS = [3, 17, 5, 90, 42, 8, 61];

async function fullLogits(dir: string, ids: number[], opts: DecoderOptions = {}, feeds: Record<string, ort.Tensor> = {}, external = false): Promise<Float32Array | Float64Array> {
  const cfg = loadConfig(dir);
  const g = buildForwardGraph(cfg, { tensors: openWeights(dir), mode: external ? 'external' : 'inline', modelFileDir: dir }, { cache: false, ...opts });
  const bytes = g.encode();
  const s = external ? await ort.InferenceSession.create(writeModelFile(dir, 'forward', bytes), ortOptionsFor(opts.dtype)) : await ort.InferenceSession.create(bytes, ortOptionsFor(opts.dtype));
  const out = await s.run({ input_ids: ids64(ids), position_ids: positions(0, ids.length), ...feeds });
  await s.release();
  return out.logits.data as Float32Array;
}

async function checkAgainstReference(dir: string, external = false, tol = 1e-4) {
  const want = flat(referenceLogits(loadReference(dir), IDS));
  const got = await fullLogits(dir, IDS, {}, {}, external);
  const d = maxAbsDiff(got, want);
  assert.ok(d < tol, `max |onnx − reference| = ${d}`);
}

test('qwen2 with GQA, q/k/v bias, untied head matches the float64 reference', async () => {
  await checkAgainstReference(smallModel('qwen2').dir);
});

test('llama, full multi-head, no bias, tied embeddings, external data into the safetensors file', async () => {
  const { dir } = smallModel('llama', { architecture: 'llama', attentionBias: false, tieWordEmbeddings: true, numKvHeads: 4 });
  assert.equal(openWeights(dir).has('model.layers.0.self_attn.q_proj.bias'), false);
  await checkAgainstReference(dir, true);
});

test('llama with attention_bias (o_proj bias too) and GQA 4:1', async () => {
  await checkAgainstReference(smallModel('llamab', { architecture: 'llama', attentionBias: true, numKvHeads: 1 }).dir);
});

test('sharded BF16 weights (cast in-graph) match the reference on the same BF16 values', async () => {
  const { dir } = smallModel('bf16', {}, { dtype: 'BF16', shards: 3 });
  assert.ok(fs.existsSync(path.join(dir, 'model.safetensors.index.json')));
  assert.equal(new Set([...openWeights(dir).values()].map((t) => t.file)).size, 3);
  await checkAgainstReference(dir, true);
});

test('float64 compute matches the reference to 1e-9', async () => {
  const { dir } = smallModel('f64');
  const want = flat(referenceLogits(loadReference(dir), IDS));
  const got = await fullLogits(dir, IDS, { dtype: 'float64' });
  assert.ok(got instanceof Float64Array);
  assert.ok(maxAbsDiff(got, want) < 1e-9, `diff ${maxAbsDiff(got, want)}`);
});

test('prefill + N single-token decode steps reproduce the full forward', async () => {
  const { dir, cfg } = smallModel('kv');
  const full = await fullLogits(dir, IDS);
  const g = buildForwardGraph(cfg, { tensors: openWeights(dir), mode: 'inline' }, { cache: true });
  const s = await ort.InferenceSession.create(g.encode());
  const { numLayers: L, numKvHeads: KV, headDim: D, vocabSize: V } = cfg;
  let cache: Record<string, ort.Tensor> = {};
  for (let l = 0; l < L; l++)
    for (const k of ['key', 'value'] as const) cache[pastName(l, k)] = new ort.Tensor('float32', new Float32Array(0), [1, KV, 0, D]);
  const P = 4;
  const got: number[] = [];
  let out = await s.run({ input_ids: ids64(IDS.slice(0, P)), position_ids: positions(0, P), ...cache });
  got.push(...(out.logits.data as Float32Array));
  for (let t = P; t < IDS.length; t++) {
    cache = {};
    for (let l = 0; l < L; l++) for (const k of ['key', 'value'] as const) cache[pastName(l, k)] = out[presentName(l, k)];
    assert.deepEqual(cache[pastName(0, 'key')].dims, [1, KV, t, D]);
    out = await s.run({ input_ids: ids64([IDS[t]]), position_ids: positions(t, 1), ...cache });
    got.push(...(out.logits.data as Float32Array));
  }
  assert.equal(got.length, IDS.length * V);
  assert.ok(maxAbsDiff(got, full) < 1e-5, `diff ${maxAbsDiff(got, full)}`);
  await s.release();
});

test("'last' logits equal the last row of the full logits", async () => {
  const { dir, cfg } = smallModel('last');
  const full = await fullLogits(dir, IDS);
  const last = await fullLogits(dir, IDS, { logits: 'last' });
  assert.equal(last.length, cfg.vocabSize);
  assert.ok(maxAbsDiff(last, full.slice(-cfg.vocabSize)) < 1e-6);
});

function randomAdapter(cfg: ReturnType<typeof loadConfig>, spec: LoraSpec, seed: number, zeroB = false): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const m = new Map<string, Float32Array>();
  for (const t of loraTensors(cfg, spec)) m.set(t.name, Float32Array.from({ length: t.shape[0] * t.shape[1] }, () => (zeroB && t.which === 'B' ? 0 : rng.normal() * 0.2)));
  return m;
}
const feedsOf = (cfg: ReturnType<typeof loadConfig>, spec: LoraSpec, a: Map<string, Float32Array>) =>
  Object.fromEntries(loraTensors(cfg, spec).map((t) => [t.name, new ort.Tensor('float32', a.get(t.name)!, t.shape)]));

test('LoRA inputs act as merged weights W + (alpha/r)·B·A and match the reference with PEFT semantics', async () => {
  const { dir, cfg } = smallModel('lora');
  const spec: LoraSpec = { rank: 3, alpha: 6, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] };
  const adapter = randomAdapter(cfg, spec, 11);
  assert.equal(loraInputName(1, 'up_proj', 'B'), 'base_model.model.model.layers.1.mlp.up_proj.lora_B.weight');
  const withLora = await fullLogits(dir, IDS, { lora: spec }, feedsOf(cfg, spec, adapter));
  // Merge into a copy of the checkpoint: W' = W + (alpha/r) · B · A.
  const merged: Record<string, TensorToWrite> = {};
  for (const [name, t] of openWeights(dir)) {
    const w = readTensorF64(t);
    const target = spec.targets.find((x) => name.endsWith(`.${x}.weight`));
    if (target) {
      const layer = Number(name.split('.')[2]);
      const A = adapter.get(loraInputName(layer, target, 'A'))!, B = adapter.get(loraInputName(layer, target, 'B'))!;
      const [out, inn] = t.shape;
      for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) {
        let s = 0;
        for (let k = 0; k < spec.rank; k++) s += B[o * spec.rank + k] * A[k * inn + i];
        w[o * inn + i] += (spec.alpha / spec.rank) * s;
      }
    }
    merged[name] = { dtype: 'F64', shape: t.shape, data: w };
  }
  const mdir = smallModel('merged').dir;
  writeSafetensors(path.join(mdir, 'model.safetensors'), merged);
  fs.copyFileSync(path.join(dir, 'config.json'), path.join(mdir, 'config.json'));
  const mergedLogits = await fullLogits(mdir, IDS, { dtype: 'float64' });
  assert.ok(maxAbsDiff(withLora, mergedLogits) < 1e-4, `lora vs merged ${maxAbsDiff(withLora, mergedLogits)}`);
  const ref = flat(referenceLogits(loadReference(dir), IDS, { spec, tensors: adapter }));
  assert.ok(maxAbsDiff(withLora, ref) < 1e-4, `lora vs reference ${maxAbsDiff(withLora, ref)}`);
  assert.ok(maxAbsDiff(withLora, await fullLogits(dir, IDS)) > 1e-2, 'the adapter must change the output');
  assert.equal(moduleName(0, 'o_proj'), 'model.layers.0.self_attn.o_proj');
});

test('an all-zero B gives exactly the base model', async () => {
  const { dir, cfg } = smallModel('zerob');
  const spec: LoraSpec = { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj'] };
  const base = await fullLogits(dir, IDS);
  const zero = await fullLogits(dir, IDS, { lora: spec }, feedsOf(cfg, spec, randomAdapter(cfg, spec, 3, true)));
  assert.ok(maxAbsDiff(base, zero) < 1e-6, `diff ${maxAbsDiff(base, zero)}`);
});

test('a model is served from its cache folder of links to the weights; its own folder stays untouched', async () => {
  const { dir, cfg } = smallModel('ro', {}, { shards: 2 });
  const before = fs.readdirSync(dir).sort();
  const root = path.join(smallModel('cache').dir, 'links');
  const tensors = openWeights(dir);
  const at = modelCacheDir(root, { dir, name: 'ro', cfg, tensors, tokenizerFile: '' });
  assert.equal(path.dirname(at), root);
  assert.equal(fs.readdirSync(at).filter((f) => f.endsWith('.safetensors')).length, 2);
  const g = buildForwardGraph(cfg, { tensors, mode: 'external', modelFileDir: at }, { cache: false });
  const s = await ort.InferenceSession.create(writeModelFile(at, 'ro', g.encode()));
  const out = await s.run({ input_ids: ids64(IDS), position_ids: positions(0, IDS.length) });
  assert.ok(maxAbsDiff(out.logits.data as Float32Array, flat(referenceLogits(loadReference(dir), IDS))) < 1e-4);
  await s.release();
  assert.deepEqual(fs.readdirSync(dir).sort(), before, 'nothing written into the model folder');
});

test('a new model file replaces the older ones of its family, and leaves other families alone', () => {
  const { dir } = smallModel('family');
  const a = writeModelFile(dir, 'serve-x', Uint8Array.from([1]));
  const other = writeModelFile(dir, 'train', Uint8Array.from([1]));
  assert.equal(writeModelFile(dir, 'serve-x', Uint8Array.from([1])), a, 'identical bytes reuse the file');
  const b = writeModelFile(dir, 'serve-x', Uint8Array.from([2]));
  assert.notEqual(a, b);
  assert.ok(!fs.existsSync(a) && fs.existsSync(b) && fs.existsSync(other));
  const q = writeModelFile(dir, 'serve-q4-key1', Uint8Array.from([3]), 'serve-q4');
  const q2 = writeModelFile(dir, 'serve-q4-key2', Uint8Array.from([3]), 'serve-q4');
  assert.ok(!fs.existsSync(q) && fs.existsSync(q2) && fs.existsSync(b), 'changed weights (another key) replace the 4-bit file');
  const longer = writeModelFile(dir, 'serve-q4-base-key1', Uint8Array.from([4]), 'serve-q4-base');
  const q3 = writeModelFile(dir, 'serve-q4-key3', Uint8Array.from([5]), 'serve-q4');
  assert.ok(fs.existsSync(longer) && fs.existsSync(q3) && !fs.existsSync(q2), 'a family whose name extends another one is its own');
});
