// The OpenClaw-RL objective as graph ops: its value against the formula in plain TypeScript,
// its gradient against finite differences, and the asymmetric clip engaging exactly where PPO
// says (ratio just inside / outside 1−ε and 1+ε_high, for positive and negative advantages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../../server/graph/builder';
import { buildObjective, DEFAULT_OBJECTIVE, OBJECTIVE_INPUTS, type ObjectiveConfig } from '../../../server/train/objective';
import { gradients } from '../../../server/autodiff/gradients';
import { gradcheck, randomArray } from '../../../server/autodiff/gradcheck';

/** A session computing the loss and d loss / d logp for N tokens. */
async function objectiveSession(N: number, cfg: ObjectiveConfig = DEFAULT_OBJECTIVE) {
  const g = new Graph('objective');
  const logp = g.input('logp', 'float64', [N]);
  const mask = g.input('mask', 'float64', [N]);
  const obj = buildObjective(g, logp, mask, cfg);
  g.output(obj.loss, 'loss');
  g.output(obj.clipFraction, 'clipfrac');
  g.output(gradients(g, obj.loss, [logp]).get('logp')!, 'dlogp');
  const s = await ort.InferenceSession.create(g.encode());
  return async (lp: number[], old: number[], adv: number[], m: number[], ref?: number[]) => {
    const t = (xs: number[]) => new ort.Tensor('float64', Float64Array.from(xs), [xs.length]);
    const feeds: Record<string, ort.Tensor> = { logp: t(lp), mask: t(m), [OBJECTIVE_INPUTS.behaviourLogprobs]: t(old), [OBJECTIVE_INPUTS.advantages]: t(adv), [OBJECTIVE_INPUTS.lossNorm]: new ort.Tensor('float64', Float64Array.from([m.reduce((a, b) => a + b)]), []) };
    if (ref) feeds[OBJECTIVE_INPUTS.refLogprobs] = t(ref);
    const out = await s.run(feeds);
    return { loss: Number(out.loss.data[0]), clipfrac: Number(out.clipfrac.data[0]), dlogp: Array.from(out.dlogp.data as Float64Array) };
  };
}

/** The formula, token by token, in plain TypeScript. */
function reference(lp: number[], old: number[], adv: number[], m: number[], cfg: ObjectiveConfig, ref?: number[]): number {
  let s = 0;
  lp.forEach((l, t) => {
    const r = Math.exp(l - old[t]);
    const c = Math.min(Math.max(r, 1 - cfg.clipLow), 1 + cfg.clipHigh);
    let loss = -Math.min(r * adv[t], c * adv[t]);
    if (ref) loss += cfg.klBeta * (Math.exp(ref[t] - l) - (ref[t] - l) - 1);
    s += m[t] * loss;
  });
  return s / m.reduce((a, b) => a + b);
}

test('loss value matches the formula (with k3 KL and a mask)', async () => {
  const cfg = { ...DEFAULT_OBJECTIVE, klBeta: 0.05 };
  const run = await objectiveSession(6, cfg);
  const lp = [-1, -2.5, -0.3, -4, -0.9, -2];
  const old = [-1.1, -2.0, -0.8, -3.5, -0.2, -2.4];
  const adv = [1, -1, 0.4, -0.7, 1.3, 0.2];
  const ref = [-1.3, -2.2, -0.1, -3.9, -1.5, -1.7];
  const mask = [1, 1, 1, 0, 1, 1];
  const got = await run(lp, old, adv, mask, ref);
  assert.ok(Math.abs(got.loss - reference(lp, old, adv, mask, cfg, ref)) < 1e-12, `${got.loss}`);
  assert.equal(got.dlogp[3], 0, 'a masked token gets no gradient');
});

test('objective gradient matches finite differences', async () => {
  const g = new Graph('objgc');
  const N = 8;
  const logp = g.input('logp', 'float64', [N]);
  const mask = g.constant([1, 1, 0, 1, 1, 1, 0, 1], 'float64', [N]);
  const obj = buildObjective(g, logp, mask, { ...DEFAULT_OBJECTIVE, klBeta: 0.2 });
  const lpData = randomArray(N, 3, -3, -0.5);
  const near = (seed: number, w: number) => { const d = randomArray(N, seed, -w, w); return d.map((x, i) => lpData[i] + x); };
  const t = (xs: Float64Array, dims = [N]) => new ort.Tensor('float64', xs, dims);
  const res = await gradcheck(g, obj.loss, [{ value: logp, data: lpData }], {
    [OBJECTIVE_INPUTS.behaviourLogprobs]: t(near(4, 0.15)), // ratios inside the clip range
    [OBJECTIVE_INPUTS.advantages]: t(randomArray(N, 5)),
    [OBJECTIVE_INPUTS.refLogprobs]: t(near(6, 1)),
    [OBJECTIVE_INPUTS.lossNorm]: t(Float64Array.from([6]), []),
  });
  assert.ok(res.maxRelErr <= 1e-4, JSON.stringify(res.relErr));
});

test('the clip engages exactly outside [1−ε, 1+ε_high] in the direction the advantage pushes', async () => {
  const run = await objectiveSession(1);
  const eps = 0.2, epsHigh = 0.28, d = 1e-3;
  // [ratio, advantage, clipped?]: A > 0 is clipped above 1+ε_high only; A < 0 below 1−ε only.
  const cases: [number, number, boolean][] = [
    [1 + epsHigh - d, 1, false], [1 + epsHigh + d, 1, true], [1 - eps - d, 1, false], [1 - eps + d, 1, false],
    [1 - eps + d, -1, false], [1 - eps - d, -1, true], [1 + epsHigh + d, -1, false], [1 + epsHigh - d, -1, false],
    [1 + epsHigh + d, 0.5, true], [1 - eps - d, -2, true],
  ];
  for (const [ratio, A, clipped] of cases) {
    const old = -2;
    const lp = old + Math.log(ratio);
    const got = await run([lp], [old], [A], [1]);
    const want = clipped ? 0 : -A * ratio; // d(−ρA)/d logp = −ρA when unclipped
    assert.ok(Math.abs(got.dlogp[0] - want) < 1e-12, `ratio ${ratio}, A ${A}: dlogp ${got.dlogp[0]}, want ${want}`);
    assert.equal(got.clipfrac, clipped ? 1 : 0, `clip fraction at ratio ${ratio}, A ${A}`);
    const bound = clipped ? (A > 0 ? 1 + epsHigh : 1 - eps) : ratio;
    assert.ok(Math.abs(got.loss + bound * A) < 1e-12, `loss at ratio ${ratio}, A ${A}: ${got.loss}`);
  }
});

test('bad clip settings are refused', () => {
  const g = new Graph('bad');
  const lp = g.input('logp', 'float64', [2]);
  assert.throws(() => buildObjective(g, lp, lp, { clipLow: 1.2, clipHigh: 0.28, klBeta: 0 }), /clipLow/);
});
