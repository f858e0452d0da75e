// GGUF export: the container and Q4_0 against hand-computed values, then the real consumer —
// llama.cpp through node-llama-cpp — loading the bundled starter exported as a GGUF model, a
// trained-looking adapter exported as a GGUF LoRA, and the two merged; each compared with the
// project's own forward pass on the same tokens (tokenisation too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dequantizeQ4_0, GgmlType, quantizeQ4_0, readGgufInfo, str, u32, writeGguf } from '../../../server/export/gguf';
import { exportAdapterGguf, exportModelGguf, ggufTensorName } from '../../../server/export/ggufModel';
import { openModelFolder } from '../../../server/model/folder';
import { DEFAULT_SERVE_LORA, ForwardSession } from '../../../server/model/forwardSession';
import { loadTokenizer } from '../../../server/model/tokenizer';
import { initAdapter } from '../../../server/train/adapter';
import { seededRandom } from '../../../server/train/random';
import type { Token } from 'node-llama-cpp' with { 'resolution-mode': 'import' };

const STARTER = path.join(__dirname, '../../../models/hindsight-starter');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hs-gguf-'));

test('Q4_0: ggml reference rounding (d = max/−8, q = trunc(x/d + 8.5) clamped), low nibbles first half, high nibbles second', () => {
  const x = Float32Array.from({ length: 32 }, (_, i) => i - 16);
  const q = quantizeQ4_0(x);
  assert.equal(q.length, 18);
  // d = −16/−8 = 2 as fp16 (0x4000).
  assert.equal(q[0] | (q[1] << 8), 0x4000);
  // x[0] = −16 → 0; x[16] = 0 → 8: byte 0 = 0 | 8 << 4.
  assert.equal(q[2], 0x80);
  const back = dequantizeQ4_0(q);
  assert.equal(back[0], -16);
  assert.equal(back[31], 14, '15/2 + 8.5 = 16, clamped to 15: (15 − 8)·2');
  const r = seededRandom(3);
  const y = Float32Array.from({ length: 64 * 32 }, () => (r() - 0.5) * 3);
  const yb = dequantizeQ4_0(quantizeQ4_0(y));
  for (let b = 0; b < 64; b++) {
    const block = y.subarray(b * 32, b * 32 + 32);
    const d = Math.max(...block.map(Math.abs)) / 8;
    // Half a step, or a whole one where the code clamps at 15 (the side opposite the largest magnitude).
    for (let j = 0; j < 32; j++) assert.ok(Math.abs(yb[b * 32 + j] - block[j]) <= d + 1e-3 * d + 1e-6, `block ${b}[${j}]`);
  }
});

test('GGUF container: metadata and tensor infos read back; data aligned to 32 bytes; dims innermost first', () => {
  const dir = tmp();
  const file = path.join(dir, 'x.gguf');
  const a = Float32Array.from({ length: 6 }, (_, i) => i);
  const { bytes } = writeGguf(file, [['general.name', str('t')], ['x.count', u32(7)], ['x.list', { type: 'string[]', value: ['a', 'bé'] }]], [
    { name: 'a', shape: [2, 3], type: GgmlType.F32, values: () => a },
    { name: 'b', shape: [1, 32], type: GgmlType.Q4_0, values: () => new Float32Array(32).fill(1) },
  ]);
  assert.equal(fs.statSync(file).size, bytes);
  const info = readGgufInfo(file);
  assert.equal(info.version, 3);
  assert.equal(info.metadata.get('general.alignment'), 32);
  assert.equal(info.metadata.get('x.count'), 7);
  assert.deepEqual(info.metadata.get('x.list'), ['a', 'bé']);
  assert.deepEqual(info.tensors, [{ name: 'a', shape: [2, 3], type: 0, offset: 0 }, { name: 'b', shape: [1, 32], type: 2, offset: 32 }]);
  assert.equal(info.dataOffset % 32, 0);
  const buf = fs.readFileSync(file);
  assert.deepEqual(Array.from(new Float32Array(buf.buffer.slice(buf.byteOffset + info.dataOffset, buf.byteOffset + info.dataOffset + 24))), [0, 1, 2, 3, 4, 5]);
  assert.ok(!fs.existsSync(`${file}.partial`));
  assert.throws(() => writeGguf(path.join(dir, 'bad.gguf'), [], [{ name: 'c', shape: [3], type: GgmlType.F32, values: () => new Float32Array(2) }]), /2 values for shape \[3\]/);
  assert.ok(!fs.existsSync(path.join(dir, 'bad.gguf')) && !fs.existsSync(path.join(dir, 'bad.gguf.partial')), 'a failed write leaves nothing');
  assert.equal(ggufTensorName('model.layers.3.mlp.down_proj.weight'), 'blk.3.ffn_down.weight');
  assert.equal(ggufTensorName('model.layers.0.self_attn.k_proj.bias'), 'blk.0.attn_k.bias');
  assert.throws(() => ggufTensorName('model.layers.0.self_attn.rotary.inv_freq'), /no GGUF name/);
});

/** log-softmax of the last position's logits. */
function logSoftmax(l: Float32Array): Float64Array {
  let m = -Infinity;
  for (const v of l) m = Math.max(m, v);
  let z = 0;
  for (const v of l) z += Math.exp(v - m);
  const lz = m + Math.log(z);
  return Float64Array.from(l, (v) => v - lz);
}

/** KL(p‖q) with p as log-probs and q as llama.cpp's probabilities (renormalised). */
function kl(p: Float64Array, q: Map<number, number>): number {
  let s = 0;
  for (const v of q.values()) s += v;
  let k = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = Math.exp(p[i]);
    if (pi > 0) k += pi * (p[i] - Math.log(Math.max((q.get(i) ?? 0) / s, 1e-30)));
  }
  return k;
}

test('llama.cpp (node-llama-cpp) loads the exported starter, its adapter and the merged model, and agrees with our forward pass', async () => {
  const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
  const dir = tmp();
  const folder = openModelFolder(STARTER);
  const cfg = folder.cfg;
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });

  // Tokenisation: llama.cpp's BPE from the exported vocabulary and merges spells code as ours does.
  const modelFile = path.join(dir, 'starter-f32.gguf');
  exportModelGguf(folder, modelFile, { weights: 'f32' });
  const model = await llama.loadModel({ modelPath: modelFile });
  const tok = loadTokenizer(STARTER, cfg.eosTokenId);
  const code = 'export function total(items: Item[]): number {\n  return items.reduce((s, i) => s + i.price * 2, 0); // 42\n}\n';
  assert.deepEqual(Array.from(model.tokenize(code, false)), tok.encode(code));

  // A trained-looking adapter: PEFT's init for A, random B (B = 0 would be the base model).
  const adapter = initAdapter(cfg, DEFAULT_SERVE_LORA, 'hindsight-starter', 7);
  const r = seededRandom(11);
  for (const [name, v] of adapter.tensors) if (name.includes('lora_B')) for (let i = 0; i < v.length; i++) v[i] = (r() - 0.5) * 0.05;
  const loraFile = path.join(dir, 'adapter.gguf');
  exportAdapterGguf(adapter, cfg, loraFile);
  assert.equal(readGgufInfo(loraFile).metadata.get('adapter.lora.alpha'), DEFAULT_SERVE_LORA.alpha);
  const mergedFile = path.join(dir, 'merged-f32.gguf');
  exportModelGguf(folder, mergedFile, { weights: 'f32', adapter });

  const ids = tok.encode('def area(r):\n    return 3.14159 * r');
  const ours = await ForwardSession.create(folder, { intraOpThreads: 1, quantize: 'none', cacheDir: dir });
  const base = logSoftmax((await ours.step(ids, ours.emptyCache())).logits.slice(-cfg.vocabSize));
  ours.setAdapter(1, adapter.tensors);
  const adapted = logSoftmax((await ours.step(ids, ours.emptyCache())).logits.slice(-cfg.vocabSize));
  await ours.release();

  const next = async (m: typeof model, lora?: string): Promise<Map<number, number>> => {
    const ctx = await m.createContext({ contextSize: 128, threads: 1, ...(lora ? { lora } : {}) });
    try {
      const out = await ctx.getSequence().controlledEvaluate(ids.map((t, i) => (i === ids.length - 1 ? [t as Token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }] : (t as Token))));
      return out[ids.length - 1]!.next!.probabilities!;
    } finally {
      await ctx.dispose();
    }
  };
  const llamaBase = await next(model);
  const llamaAdapted = await next(model, loraFile);
  const merged = await llama.loadModel({ modelPath: mergedFile });
  const llamaMerged = await next(merged);
  const argmax = (p: Float64Array) => p.indexOf(Math.max(...p));
  const top = (q: Map<number, number>) => [...q.entries()].reduce((a, b) => (b[1] > a[1] ? b : a))[0];

  assert.ok(kl(base, llamaBase) < 1e-4, `base: KL ${kl(base, llamaBase)}`);
  assert.equal(top(llamaBase), argmax(base));
  assert.ok(kl(adapted, llamaBase) > 1e-2, `the adapter changes the distribution (KL ${kl(adapted, llamaBase)}), so agreeing below means it was applied`);
  assert.ok(kl(adapted, llamaAdapted) < 1e-4, `adapter: KL ${kl(adapted, llamaAdapted)}`);
  assert.equal(top(llamaAdapted), argmax(adapted));
  assert.ok(kl(adapted, llamaMerged) < 1e-4, `merged: KL ${kl(adapted, llamaMerged)}`);
  await merged.dispose();
  await model.dispose();
  await llama.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('GGUF export refuses what it cannot write: a Llama-architecture model, an adapter missing a pair', () => {
  const folder = openModelFolder(STARTER);
  const dir = tmp();
  assert.throws(() => exportModelGguf({ ...folder, cfg: { ...folder.cfg, architecture: 'llama' } }, path.join(dir, 'x.gguf'), { weights: 'f16' }), /supports Qwen2 models; this one is llama/);
  const adapter = initAdapter(folder.cfg, DEFAULT_SERVE_LORA, 'x', 1);
  adapter.tensors.delete('base_model.model.model.layers.2.mlp.up_proj.lora_B.weight');
  assert.throws(() => exportAdapterGguf(adapter, folder.cfg, path.join(dir, 'a.gguf')), /no LoRA pair for model\.layers\.2\.mlp\.up_proj/);
  assert.deepEqual(fs.readdirSync(dir), []);
});
