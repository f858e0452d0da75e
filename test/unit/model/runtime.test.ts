// Runtime variants of the serving graph, each checked against fp32 on CPU: the fp16 graph (for GPU
// execution providers), 4-bit MatMulNBits weights (CPU serving), and provider fallback to CPU; the
// serving graph's own form (grouped projections, GroupQueryAttention) against the float64 reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openModelFolder } from '../../../server/model/folder';
import { BASE_SERVE_LORA, DEFAULT_SERVE_LORA, ForwardSession } from '../../../server/model/forwardSession';
import { createSession } from '../../../server/model/session';
import { quantizeQ4, dequantizeQ4 } from '../../../server/model/quantize';
import { makeModel, PRESETS, Rng } from '../../../scripts/make-model';
import { tempDir, maxAbsDiff, smallModel } from './fixtures';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTensorF64, writeSafetensors, type TensorToWrite } from '../../../server/model/safetensors';
import { loraTensors, type LoraTarget } from '../../../server/model/lora';
import { ScoreSession } from '../../../server/model/score';
import { loadReference, referenceLogits } from '../../reference/forward';

const argmax = (x: Float32Array) => x.reduce((b, v, i) => (v > x[b] ? i : b), 0);
const IDS = [9707, 11, 1879, 0, 4172, 284, 220, 16];

function tinyFolder(tag: string) {
  const dir = tempDir(tag);
  makeModel({ ...PRESETS.tiny, numLayers: 1 }, dir, { seed: 2, std: 0.1 });
  return openModelFolder(dir);
}

test('the fp16 graph (fp32 norms and softmax) tracks fp32 on CPU, prefill and decode', async () => {
  const f = tinyFolder('fp16');
  const a = await ForwardSession.create(f, { intraOpThreads: 1 });
  const b = await ForwardSession.create(f, { dtype: 'float16', intraOpThreads: 1 });
  const x = await a.step(IDS, a.emptyCache());
  const y = await b.step(IDS, b.emptyCache());
  assert.equal(y.cache.tensors['past_key_values.0.key'].type, 'float16');
  const scale = x.logits.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(maxAbsDiff(x.logits, y.logits) < 5e-3 * scale, `fp16 diff ${maxAbsDiff(x.logits, y.logits)} (|logits| ≤ ${scale})`);
  assert.equal(argmax(y.logits), argmax(x.logits));
  const x2 = await a.step([argmax(x.logits)], x.cache);
  const y2 = await b.step([argmax(x.logits)], y.cache);
  assert.ok(maxAbsDiff(x2.logits, y2.logits) < 5e-3 * scale);
  await a.release();
  await b.release();
});

test('4-bit quantisation: MatMulNBits layout round-trips within one step per block', () => {
  const rng = new Rng(4);
  const n = 3, k = 64;
  const w = Float64Array.from({ length: n * k }, () => rng.normal());
  const q = quantizeQ4(w, n, k);
  assert.equal(q.packed.length, n * (k / 32) * 16);
  const back = dequantizeQ4(q);
  for (let i = 0; i < w.length; i++) {
    const s = Math.abs(q.scales[Math.floor(i / 32)]);
    // Half a step, except the +8 end that the symmetric grid clips (ORT's quantiser does the same).
    assert.ok(Math.abs(back[i] - w[i]) <= s + 1e-6, `value ${i}`);
  }
});

test('4-bit serving graph equals fp32 on weights already on the 4-bit grid (only int8 activations differ)', async () => {
  // Put every quantised weight on its 4-bit grid first, so the only difference left is the kernel's
  // int8 activation quantisation (accuracy_level 4): a check of the layout, scales and nibble order.
  const dir = tempDir('q4');
  makeModel({ ...PRESETS.tiny, numLayers: 1 }, dir, { seed: 2, std: 0.1 });
  const folder = openModelFolder(dir);
  const snapped: Record<string, TensorToWrite> = {};
  for (const [name, t] of folder.tensors) {
    const v = readTensorF64(t);
    const quantised = t.shape.length === 2 && (name.endsWith('_proj.weight') || name === 'model.embed_tokens.weight');
    snapped[name] = { dtype: 'F32', shape: t.shape, data: quantised ? dequantizeQ4(quantizeQ4(v, t.shape[0], t.shape[1])) : Float32Array.from(v) };
  }
  writeSafetensors(path.join(dir, 'model.safetensors'), snapped);
  const f = openModelFolder(dir);
  const a = await ForwardSession.create(f, { intraOpThreads: 1 });
  const b = await ForwardSession.create(f, { quantize: 'q4', intraOpThreads: 1 });
  const x = await a.step(IDS, a.emptyCache());
  const y = await b.step(IDS, b.emptyCache());
  const kl = klDivergence(x.logits, y.logits);
  assert.ok(kl < 1e-3, `KL(fp32 || q4) = ${kl}`);
  assert.equal(argmax(y.logits), argmax(x.logits));
  assert.equal(b.stats.q4, true);
  // 'auto' (the CPU default) keeps a model this small at its stored precision
  const c = await ForwardSession.create(f, { quantize: 'auto', intraOpThreads: 1 });
  assert.equal(c.stats.q4, false);
  await a.release();
  await b.release();
  await c.release();
});

function klDivergence(p: Float32Array, q: Float32Array): number {
  const lp = (l: Float32Array) => {
    const m = l.reduce((a, v) => Math.max(a, v), -Infinity);
    const z = Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0)) + m;
    return Float64Array.from(l, (v) => v - z);
  };
  const a = lp(p), b = lp(q);
  let kl = 0;
  for (let i = 0; i < a.length; i++) kl += Math.exp(a[i]) * (a[i] - b[i]);
  return kl;
}

test('an execution provider that cannot start falls back to CPU with a log line', async () => {
  const f = tinyFolder('ep');
  const fwd = await ForwardSession.create(f, { intraOpThreads: 1 });
  const lines: string[] = [];
  for (const p of ['webgpu', 'cuda'] as const) {
    const { session, provider } = await createSession(fwd.stats.modelFile!, { providers: [p], intraOpThreads: 1, log: (_l, m) => lines.push(m) });
    assert.equal(provider, 'cpu');
    await session.release();
  }
  assert.equal(lines.length, 2);
  assert.match(lines[0], /execution provider webgpu failed to start .*falling back to cpu/);
  assert.match(lines[1], /execution provider cuda failed to start .*falling back to cpu/);
  await fwd.release();
});

test("serving's packed LoRA layout (A's side by side per shared input, B's transposed and scaled) gives PEFT's numbers, prefill and decode, for any subset of targets", async () => {
  const f = tinyFolder('packed-lora');
  const r = new Rng(21);
  for (const targets of [['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], ['k_proj', 'up_proj', 'down_proj']] as LoraTarget[][]) {
    const spec = { rank: 4, alpha: 12, targets };
    const adapter = new Map([...loraTensors(f.cfg, spec)].map((t) => [t.name, Float32Array.from({ length: t.shape[0] * t.shape[1] }, () => r.normal() * 0.05)]));
    const serving = await ForwardSession.create(f, { intraOpThreads: 1, lora: spec });
    serving.setAdapter(1, adapter);
    const scorer = await ScoreSession.create(f.cfg, { tensors: f.tensors, mode: 'inline' }, { lora: spec });
    const target = [4172, 284, 220, 16];
    const want = await scorer.score(IDS, target, adapter); // PEFT layout, no cache
    let step = await serving.step(IDS, serving.emptyCache());
    const got: number[] = [];
    for (const t of target) {
      const l = step.logits;
      const m = l.reduce((a, v) => Math.max(a, v), -Infinity);
      const lse = m + Math.log(l.reduce((s, v) => s + Math.exp(v - m), 0));
      got.push(l[t] - lse);
      step = await serving.step([t], step.cache);
    }
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `${targets.join(',')}: token ${i}: ${v} vs ${want[i]}`));
    await serving.release();
    await scorer.release();
  }
});

test('the serving graph (grouped projections, GroupQueryAttention, fused norms) matches the float64 reference through prefill, a cache cut back and extended by several tokens, and decode', async () => {
  const seq = [3, 17, 5, 90, 42, 8, 61, 12];
  // The real vocabulary, so the folder carries the tokenizer a served model needs.
  for (const over of [{ headDim: 16, vocabSize: 151936 }, { architecture: 'llama' as const, headDim: 16, vocabSize: 151936, attentionBias: false, tieWordEmbeddings: true }]) {
    const m = smallModel(`serve-${over.architecture ?? 'qwen2'}`, over);
    const ref = loadReference(m.dir);
    const want = (n: number) => referenceLogits(ref, seq.slice(0, n)).at(-1)!;
    const fwd = await ForwardSession.create(openModelFolder(m.dir), { intraOpThreads: 1, quantize: 'none' });
    const check = (got: { logits: Float32Array; lse: number }, n: number) => {
      const w = want(n);
      assert.ok(maxAbsDiff(got.logits, w) < 1e-4, `${m.cfg.architecture} after ${n} tokens: ${maxAbsDiff(got.logits, w)}`);
      const mx = w.reduce((a, v) => Math.max(a, v), -Infinity);
      const lse = mx + Math.log(w.reduce((z, v) => z + Math.exp(v - mx), 0));
      // A float32 reduction over 151,936 values: about 1e-5 relative.
      assert.ok(Math.abs(got.lse - lse) < 5e-5 * Math.abs(lse), `logits_lse ${got.lse} is the log-partition ${lse}`);
    };
    const a = await fwd.step(seq.slice(0, 5), fwd.emptyCache());
    check(a, 5);
    const b = await fwd.step(seq.slice(3, 7), fwd.truncate(a.cache, 3)); // 4 new tokens after 3 cached
    check(b, 7);
    check(await fwd.step([seq[7]], b.cache), 8);
    await fwd.release();
  }
});

test('a 4-bit load writes the graphs it is asked to prepare; the base and LoRA graphs keep their own files', async () => {
  const f = tinyFolder('prepare');
  const cacheDir = tempDir('prepare-cache');
  const steps = (log: string[]) => (step: string) => void (log.includes(step) || log.push(step));
  const first: string[] = [];
  const base = await ForwardSession.create(f, { quantize: 'q4', intraOpThreads: 1, cacheDir, lora: BASE_SERVE_LORA, prepare: [DEFAULT_SERVE_LORA], progress: steps(first) });
  assert.ok(first.includes('converting the weights to 4-bit'));
  const second: string[] = [];
  const withLora = await ForwardSession.create(f, { quantize: 'q4', intraOpThreads: 1, cacheDir, lora: DEFAULT_SERVE_LORA, progress: steps(second) });
  assert.ok(!second.includes('converting the weights to 4-bit'), `the LoRA graph was prepared: ${second.join(', ')}`);
  assert.notEqual(withLora.stats.modelFile, base.stats.modelFile);
  assert.ok(fs.existsSync(base.stats.modelFile!), 'the LoRA graph did not replace the base graph\'s file');
  const third: string[] = [];
  const baseAgain = await ForwardSession.create(f, { quantize: 'q4', intraOpThreads: 1, cacheDir, lora: BASE_SERVE_LORA, progress: steps(third) });
  assert.ok(!third.includes('converting the weights to 4-bit'));
  // Zero B through the LoRA graph is the base graph's model.
  const a = await baseAgain.step(IDS, baseAgain.emptyCache());
  const b = await withLora.step(IDS, withLora.emptyCache());
  assert.ok(maxAbsDiff(a.logits, b.logits) < 1e-4, `${maxAbsDiff(a.logits, b.logits)}`);
  for (const s of [base, withLora, baseAgain]) await s.release();
});
