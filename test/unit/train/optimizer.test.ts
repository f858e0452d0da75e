// AdamW against an independent scalar implementation of torch's documented algorithm (bias
// correction, decoupled decay), global-norm clipping, the LR schedule, and skip-on-non-finite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW, GradAccumulator, globalNorm, lrAt } from '../../../server/train/optimizer';

/** torch.optim.AdamW's pseudo-code, one scalar at a time, with m̂ and v̂ written out. */
function referenceAdamW(p0: number, grads: number[], lr: number, b1: number, b2: number, eps: number, wd: number): number {
  let p = p0, m = 0, v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    p -= lr * wd * p;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const mHat = m / (1 - b1 ** t), vHat = v / (1 - b2 ** t);
    p -= (lr * mHat) / (Math.sqrt(vHat) + eps);
  });
  return p;
}

test('AdamW matches the documented algorithm over several steps (float64 params)', () => {
  const gs = [[0.5, -2, 1e-3], [0.1, 3, -1e-3], [-0.7, 0.2, 0], [0.3, -0.1, 5]];
  const p = new Map([['w', Float64Array.from([1, -0.5, 0.25])]]);
  const opt = new AdamW(p, { lr: 0.01, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.1, maxGradNorm: 0 });
  for (const g of gs) {
    const r = opt.apply(new Map([['w', Float64Array.from(g)]]), 1);
    assert.equal(r.applied, true);
  }
  [1, -0.5, 0.25].forEach((p0, i) => {
    const want = referenceAdamW(p0, gs.map((g) => g[i]), 0.01, 0.9, 0.98, 1e-8, 0.1);
    assert.ok(Math.abs(p.get('w')![i] - want) < 1e-14, `param ${i}: ${p.get('w')![i]} vs ${want}`);
  });
  assert.equal(opt.step, 4);
});

test('global-norm clipping scales every gradient by max_norm / norm', () => {
  const grads = () => new Map([['a', Float64Array.from([3, 0])], ['b', Float64Array.from([0, 4])]]); // norm 5
  assert.equal(globalNorm(grads()), 5);
  const coef = 1 / (5 + 1e-6);
  const manual = () => new Map([['a', Float64Array.from([3 * coef, 0])], ['b', Float64Array.from([0, 4 * coef])]]);
  const fresh = () => new Map([['a', new Float64Array(2)], ['b', new Float64Array(2)]]);
  // eps = 1 makes Adam's step depend on the gradient's scale, so a wrong clip factor shows
  const [clipped, scaled, raw] = [fresh(), fresh(), fresh()];
  const o1 = new AdamW(clipped, { lr: 0.1, eps: 1, weightDecay: 0, maxGradNorm: 1 });
  const o2 = new AdamW(scaled, { lr: 0.1, eps: 1, weightDecay: 0, maxGradNorm: 0 });
  const o3 = new AdamW(raw, { lr: 0.1, eps: 1, weightDecay: 0, maxGradNorm: 0 });
  const r1 = o1.apply(grads());
  o2.apply(manual());
  o3.apply(grads());
  assert.ok(r1.applied && r1.clipped && r1.gradNorm === 5);
  for (const k of ['a', 'b']) clipped.get(k)!.forEach((v, i) => assert.ok(Math.abs(v - scaled.get(k)![i]) < 1e-15, `${k}[${i}]`));
  assert.ok(Math.abs(clipped.get('b')![1] - raw.get('b')![1]) > 1e-3, 'clipping had no effect');
  const small = new AdamW(new Map([['a', new Float64Array(1)]]), { maxGradNorm: 10 });
  const r = small.apply(new Map([['a', Float64Array.from([2])]]));
  assert.ok(r.applied && !r.clipped);
});

test('non-finite loss or gradients skip the step: parameters, moments and step count unchanged', () => {
  const p = new Map([['w', Float32Array.from([1, 2])]]);
  const opt = new AdamW(p, { lr: 0.1 });
  const r1 = opt.apply(new Map([['w', Float32Array.from([1, NaN])]]), 0.5);
  const r2 = opt.apply(new Map([['w', Float32Array.from([1, 1])]]), Infinity);
  const r3 = opt.apply(new Map([['w', Float32Array.from([Infinity, 1])]]), 0.5);
  for (const r of [r1, r2, r3]) assert.equal(r.applied, false);
  assert.match((r2 as { reason: string }).reason, /loss/);
  assert.deepEqual(Array.from(p.get('w')!), [1, 2]);
  assert.equal(opt.step, 0);
  const ok = opt.apply(new Map([['w', Float32Array.from([1, 1])]]), 0.5);
  assert.equal(ok.applied && ok.step, 1);
});

test('LR schedule: linear warmup, then constant or cosine to the floor', () => {
  const constant = { lr: 1, schedule: { kind: 'constant' as const, warmupSteps: 4 } };
  assert.deepEqual([1, 2, 4, 5, 100].map((t) => lrAt(constant, t)), [0.25, 0.5, 1, 1, 1]);
  const cosine = { lr: 1, schedule: { kind: 'cosine' as const, warmupSteps: 2, totalSteps: 12, minLrRatio: 0.1 } };
  assert.equal(lrAt(cosine, 2), 1);
  assert.ok(Math.abs(lrAt(cosine, 7) - 0.55) < 1e-12); // halfway: floor + (1 − floor)/2
  assert.ok(Math.abs(lrAt(cosine, 12) - 0.1) < 1e-12);
  assert.ok(Math.abs(lrAt(cosine, 50) - 0.1) < 1e-12);
  assert.throws(() => lrAt({ lr: 1, schedule: { kind: 'cosine', warmupSteps: 3 } }, 5), /totalSteps/);
});

test('gradient accumulation sums episodes and flags a non-finite loss', () => {
  const acc = new GradAccumulator(new Map([['w', 2]]));
  acc.add(new Map([['w', [1, 2]]]), 0.25);
  acc.add(new Map([['w', Float32Array.from([0.5, -1])]]), 0.5);
  assert.deepEqual(Array.from(acc.sum.get('w')!), [1.5, 1]);
  assert.equal(acc.loss, 0.75);
  acc.add(new Map([['w', [0, 0]]]), NaN);
  assert.equal(acc.nonFinite, true);
  assert.throws(() => acc.add(new Map([['w', [1]]]), 0), /mis-sized/);
  acc.reset();
  assert.deepEqual(Array.from(acc.sum.get('w')!), [0, 0]);
});

test('bad hyper-parameters are refused', () => {
  assert.throws(() => new AdamW(new Map(), { betas: [1, 0.98] }), /betas/);
  assert.throws(() => new AdamW(new Map(), { lr: -1 }), /lr/);
});
