// The whole train step on a generated micro model: LoRA (and full fine-tuning) gradients of the
// OpenClaw-RL loss against float64 finite differences, the response head against the score
// graph, zero advantages ⇒ no movement, non-finite ⇒ skipped, learning actually happens, and
// a fixed seed reproduces the same adapter bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Trainer, type TrainEpisode } from '../../../server/train/step';
import { initAdapter, ADAPTER_WEIGHTS } from '../../../server/train/adapter';
import { AdapterStore } from '../../../server/train/adapterStore';
import { ScoreSession } from '../../../server/model/score';
import { seededRandom } from '../../../server/train/random';
import { microModel, SPEC, tempDir } from './fixtures';

const model = microModel('step');
const { cfg, weights } = model;

/** An adapter with non-zero B so that every LoRA gradient is non-trivial. */
function randomAdapter(seed: number, scaleB = 0.05) {
  const a = initAdapter(cfg, SPEC, 'micro', seed);
  const r = seededRandom(seed + 1000);
  for (const [k, v] of a.tensors) if (k.includes('lora_B')) for (let i = 0; i < v.length; i++) v[i] = (2 * r() - 1) * scaleB;
  return a;
}

/** Episodes whose behaviour log-probs are the current ones nudged by < 0.15 (ratios inside the clip range). */
async function episodesNear(tr: Trainer, seed: number): Promise<TrainEpisode[]> {
  const r = seededRandom(seed);
  const raw = [
    { context: [3, 17, 5, 40, 22], response: [8, 61, 12, 9] },
    { context: [11, 2], response: [33, 7, 7, 50, 19, 4, 28] },
  ].map((e) => ({ ...e, behaviourLogprobs: e.response.map(() => 0), refLogprobs: e.response.map(() => 0), advantages: e.response.map(() => 2 * r() - 1) }));
  const ev = await tr.evaluate(raw);
  return raw.map((e, i) => ({ ...e, behaviourLogprobs: ev.logprobs[i].map((l) => l + 0.15 * (2 * r() - 1)), refLogprobs: ev.logprobs[i].map((l) => l + 0.5 * (2 * r() - 1)) }));
}

/** Central differences of the batch loss at `count` coordinates spread over every parameter. */
async function fdCheck(tr: Trainer, batch: TrainEpisode[], names: string[], perTensor: number, h = 1e-6): Promise<number> {
  const ev = await tr.evaluate(batch);
  let diff = 0, na = 0, nn = 0;
  for (const name of names) {
    const p = tr.params.get(name)!;
    const a = ev.grads.sum.get(name)!;
    for (let c = 0; c < perTensor; c++) {
      const k = Math.floor(((c + 0.5) * p.length) / perTensor);
      const orig = p[k];
      p[k] = orig + h;
      const up = (await tr.evaluate(batch)).loss;
      p[k] = orig - h;
      const down = (await tr.evaluate(batch)).loss;
      p[k] = orig;
      const num = (up - down) / (2 * h);
      diff += (a[k] - num) ** 2;
      na += a[k] ** 2;
      nn += num ** 2;
    }
  }
  return Math.sqrt(diff) / (Math.sqrt(na) + Math.sqrt(nn));
}

test('LoRA gradients of the whole step (PPO clip + k3 KL, two episodes of different lengths) match finite differences in float64', async () => {
  const tr = await Trainer.create(cfg, weights, { dtype: 'float64', spec: SPEC, adapter: randomAdapter(5), objective: { clipLow: 0.2, clipHigh: 0.28, klBeta: 0.1 } });
  const batch = await episodesNear(tr, 21);
  // every LoRA tensor of layer 0 and layer 1's down/q, 3 coordinates each
  const names = [...tr.params.keys()].filter((n) => n.includes('layers.0.') || /layers\.1\..*(q_proj|down_proj)/.test(n));
  const err = await fdCheck(tr, batch, names, 3);
  console.log(`relative error ${err}`);
  assert.ok(err <= 1e-4, `relative error ${err}`);
  await tr.release();
});

test('packing episodes of different lengths into one right-padded run gives the same loss, log-probs and gradients', async () => {
  const adapter = randomAdapter(12);
  const one = await Trainer.create(cfg, weights, { dtype: 'float64', spec: SPEC, adapter });
  const packed = await Trainer.create(cfg, weights, { dtype: 'float64', spec: SPEC, adapter, packTokens: 64 });
  const batch = [...(await episodesNear(one, 23)), { context: [9, 9, 2], response: [5], behaviourLogprobs: [-4], advantages: [0.7], refLogprobs: [-4] }];
  const a = await one.evaluate(batch), b = await packed.evaluate(batch);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-12, `${a.loss} vs ${b.loss}`);
  a.logprobs.forEach((row, i) => row.forEach((v, k) => assert.ok(Math.abs(v - b.logprobs[i][k]) < 1e-12)));
  for (const [k, g] of a.grads.sum) {
    const h = b.grads.sum.get(k)!;
    g.forEach((v, i) => assert.ok(Math.abs(v - h[i]) < 1e-12 * Math.max(1, Math.abs(v)), `${k}[${i}] ${v} vs ${h[i]}`));
  }
  await one.release();
  await packed.release();
});

test('full fine-tuning is the same code with base weights trainable; its gradients match finite differences', async () => {
  const f64 = microModel('full', {}, { dtype: 'F64' as never });
  const tr = await Trainer.create(f64.cfg, f64.weights, { dtype: 'float64', spec: SPEC, adapter: randomAdapter(6), trainBase: true });
  const batch = await episodesNear(tr, 22);
  const names = ['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.1.input_layernorm.weight', 'model.norm.weight', 'model.layers.1.mlp.down_proj.weight'];
  for (const n of names) assert.ok(tr.params.has(n), `${n} is trainable`);
  const err = await fdCheck(tr, batch, names, 3);
  console.log(`relative error ${err}`);
  assert.ok(err <= 1e-4, `relative error ${err}`);
  await tr.release();
});

test('the train graph scores response tokens exactly as the score graph does', async () => {
  const adapter = randomAdapter(8, 0.2);
  const tr = await Trainer.create(cfg, weights, { spec: SPEC, adapter });
  const scorer = await ScoreSession.create(cfg, weights, { lora: SPEC });
  const e = { context: [5, 9, 13, 2, 44], response: [10, 20, 30], behaviourLogprobs: [0, 0, 0], advantages: [0, 0, 0] };
  const mine = (await tr.evaluate([e])).logprobs[0];
  // the decoder's own one-position head reaches no output and is pruned
  assert.ok(!tr.graph.graph.nodes.some((n) => n.name.startsWith('lm_head.')), 'lm_head nodes left in the train graph');
  const theirs = await scorer.score(e.context, e.response, adapter.tensors);
  mine.forEach((v, i) => assert.ok(Math.abs(v - theirs[i]) < 1e-4, `token ${i}: ${v} vs ${theirs[i]}`));
  await tr.release();
  await scorer.release();
});

test('scoring (logprobsWith) runs a forward-only session: the same log-probs as the train step, any adapter, the parameters untouched', async () => {
  const tr = await Trainer.create(cfg, weights, { spec: SPEC, adapter: randomAdapter(12, 0.2), dtype: 'float64' });
  const before = new Map([...tr.params].map(([k, v]) => [k, v.slice()]));
  const other = randomAdapter(13, 0.3).tensors;
  const pairs = [{ context: [5, 9, 13, 2, 44], response: [10, 20, 30] }, { context: [7], response: [3, 1] }];
  const scored = await tr.logprobsWith(other, pairs);
  const base = await tr.logprobsWith(undefined, pairs);
  for (const [k, v] of tr.params) assert.deepEqual(v, before.get(k), `${k} changed by scoring`);
  // The reference: the train step's own log-probs with the parameters set to `other`, then to zero (the base model).
  const episodes = pairs.map((x) => ({ ...x, behaviourLogprobs: x.response.map(() => 0), advantages: x.response.map(() => 0) }));
  for (const [k, v] of tr.params) v.set(other.get(k)!);
  const viaStep = (await tr.evaluate(episodes)).logprobs;
  for (const v of tr.params.values()) v.fill(0);
  const baseViaStep = (await tr.evaluate(episodes)).logprobs;
  scored.forEach((row, i) => row.forEach((x, j) => assert.ok(Math.abs(x - viaStep[i][j]) < 1e-10, `adapter, pair ${i} token ${j}: ${x} vs ${viaStep[i][j]}`)));
  base.forEach((row, i) => row.forEach((x, j) => assert.ok(Math.abs(x - baseViaStep[i][j]) < 1e-10, `base, pair ${i} token ${j}: ${x} vs ${baseViaStep[i][j]}`)));
  assert.ok(Math.abs(scored[0][0] - base[0][0]) > 1e-3, 'the adapter matters, so agreeing means it was fed');
  await tr.release();
});

test('A ≡ 0 (and no KL, no weight decay) ⇒ zero gradients and nothing moves', async () => {
  const adapter = randomAdapter(9);
  const tr = await Trainer.create(cfg, weights, { spec: SPEC, adapter, optimizer: { weightDecay: 0 } });
  const before = new Map([...tr.params].map(([k, v]) => [k, v.slice()]));
  const e = { context: [1, 2, 3], response: [4, 5], behaviourLogprobs: [-3, -2], advantages: [0, 0] };
  const batch = [e, { ...e, response: [6], behaviourLogprobs: [-1], advantages: [0] }];
  for (const [k, g] of (await tr.evaluate(batch)).grads.sum) assert.ok(g.every((x) => x === 0), `gradient of ${k} is not zero`);
  const res = await tr.step(batch);
  assert.equal(res.report.applied, true);
  for (const [k, v] of tr.params) assert.deepEqual(v, before.get(k), k);
  await tr.release();
});

test('a non-finite loss or gradient skips the step and leaves the adapter untouched', async () => {
  const tr = await Trainer.create(cfg, weights, { spec: SPEC, adapter: randomAdapter(10) });
  const before = new Map([...tr.params].map(([k, v]) => [k, v.slice()]));
  const res = await tr.step([{ context: [1, 2], response: [3, 4], behaviourLogprobs: [-1, -1], advantages: [1, NaN] }]);
  assert.equal(res.report.applied, false);
  assert.match((res.report as { reason: string }).reason, /non-finite/);
  for (const [k, v] of tr.params) assert.deepEqual(v, before.get(k), k);
  assert.equal(tr.optimizer.step, 0);
  await tr.release();
});

test('learning happens: the combined objective makes a preferred continuation likelier and a dispreferred one less likely', async () => {
  const adapter = initAdapter(cfg, SPEC, 'micro', 11); // PEFT init: B = 0, starts at the base model
  const tr = await Trainer.create(cfg, weights, { spec: SPEC, adapter, optimizer: { lr: 1e-2, weightDecay: 0.1 } });
  const scorer = await ScoreSession.create(cfg, weights, { lora: SPEC });
  const context = [7, 3, 29, 14, 50, 2];
  const good = [12, 40, 8, 33], bad = [45, 6, 21, 60];
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const startGood = sum(await scorer.score(context, good)), startBad = sum(await scorer.score(context, bad));
  for (let s = 0; s < 30; s++) {
    const cur = tr.adapter().tensors;
    // behaviour = the policy that "served" this step; advantage = reward +1 / −1 broadcast (+ a token-level OPD-like term)
    const bGood = await scorer.score(context, good, cur), bBad = await scorer.score(context, bad, cur);
    const res = await tr.step([
      { context, response: good, behaviourLogprobs: bGood, advantages: good.map((_, t) => 1 + (t === 0 ? 0.5 : 0)) },
      { context, response: bad, behaviourLogprobs: bBad, advantages: bad.map(() => -1) },
    ]);
    assert.equal(res.report.applied, true);
  }
  const final = tr.adapter().tensors;
  const endGood = sum(await scorer.score(context, good, final)), endBad = sum(await scorer.score(context, bad, final));
  console.log(`preferred ${startGood} → ${endGood}, dispreferred ${startBad} → ${endBad}`);
  assert.ok(endGood > startGood + 1, `preferred: ${startGood} → ${endGood}`);
  assert.ok(endBad < startBad - 1, `dispreferred: ${startBad} → ${endBad}`);
  await tr.release();
  await scorer.release();
});

test('a fixed seed reproduces the same adapter versions bit for bit', async () => {
  const run = async (root: string) => {
    const store = new AdapterStore(root);
    const tr = await Trainer.create(cfg, weights, { spec: SPEC, adapter: initAdapter(cfg, SPEC, 'micro', 1234), store, optimizer: { lr: 1e-2 } });
    const r = seededRandom(99);
    for (let s = 0; s < 3; s++) {
      const response = [r(), r(), r()].map((x) => Math.floor(x * 64));
      const res = await tr.step([{ context: [5, 6, 7], response, behaviourLogprobs: [-4, -4, -4], advantages: [1, -1, 0.5] }]);
      assert.equal(res.version, s + 1);
    }
    await tr.release();
    return fs.readFileSync(path.join(store.dir(3), ADAPTER_WEIGHTS));
  };
  const a = await run(path.join(tempDir('seed'), 'adapters'));
  const b = await run(path.join(tempDir('seed'), 'adapters'));
  assert.ok(a.equals(b), 'adapter bytes differ between two runs with the same seed');
});
