// The gate on the goal: a candidate is promoted only when, on held-out episodes, it ranks the
// developer's text above the replaced suggestion at least as often as the serving adapter, does
// not move the mean margin or the texts' likelihood against the developer beyond a tolerance, and
// keeps held-out code bits per byte within the bound over the base model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decidePreference, marginToleranceFor, winSlack, type HeldOutScore } from '../../../server/learn/gate';

const o = { maxBpbRegression: 0.02, marginTolerance: 1, targetTolerance: 0.1 };
const s = (target: number, margin?: number, tokens = 10): HeldOutScore => ({ target, tokens, ...(margin !== undefined ? { margin } : {}) });

test('promoted when held-out rankings and likelihoods hold and code is not forgotten', () => {
  const d = decidePreference({ serving: [s(-20, -1), s(-15, 2)], candidate: [s(-12, 3), s(-14, 4)], bpbBase: 2, bpbCandidate: 2.01 }, o);
  assert.equal(d.promote, true, d.reason);
  assert.deepEqual([d.pairs, d.winsServing, d.winsCandidate], [2, 1, 2]);
  assert.ok(Math.abs(d.bpbRegression - 0.005) < 1e-12);
  // No held-out evidence yet (a first round): only the code bound applies.
  assert.equal(decidePreference({ serving: [], candidate: [], bpbBase: 2, bpbCandidate: 2 }, o).promote, true);
});

test('each failure is refused with its reason', () => {
  const fewer = decidePreference({ serving: [s(-10, 1), s(-10, 2)], candidate: [s(-10, 1.5), s(-10, -0.5)], bpbBase: 2, bpbCandidate: 2 }, o);
  assert.equal(fewer.promote, false);
  assert.match(fewer.reason!, /fewer held-out episodes \(1 of 2\) than the serving adapter \(2\)/);
  const away = decidePreference({ serving: [s(-10, 9), s(-10, 8)], candidate: [s(-10, 6), s(-10, 7)], bpbBase: 2, bpbCandidate: 2 }, o);
  assert.match(away.reason!, /away from the developer's text \(mean margin over the suggestion 6\.50 vs 8\.50/);
  const unlikely = decidePreference({ serving: [s(-10), s(-10)], candidate: [s(-13), s(-10)], bpbBase: 2, bpbCandidate: 2 }, o);
  assert.match(unlikely.reason!, /held-out texts less likely \(-1\.150 vs -1\.000 nats per token\)/);
  const forgets = decidePreference({ serving: [], candidate: [], bpbBase: 2, bpbCandidate: 2.1 }, o);
  assert.match(forgets.reason!, /forgets code: held-out bits per byte 5\.00 % above the base model \(limit 2\.00 %\)/);
  assert.match(decidePreference({ invalid: 'NaN in lora_B', serving: [], candidate: [], bpbBase: 2, bpbCandidate: NaN }, o).reason!, /not usable: NaN in lora_B/);
  assert.match(decidePreference({ serving: [s(-1, 1)], candidate: [s(NaN, 1)], bpbBase: 2, bpbCandidate: 2 }, o).reason!, /not finite/);
});

test('the margin tolerance is stated for 4 pairs and scales with 1/√pairs, as the noise of a mean does', () => {
  assert.equal(marginToleranceFor(1, 4), 1);
  assert.equal(marginToleranceFor(1, 1), 2);
  assert.equal(marginToleranceFor(1, 16), 0.5);
  // One pair that falls 1.2 nats but still ranks the developer's text first: noise, promoted.
  assert.equal(decidePreference({ serving: [s(-10, 1.9)], candidate: [s(-10, 0.7)], bpbBase: 2, bpbCandidate: 2 }, o).promote, true);
  // Four pairs that fall 1.2 nats on average: refused.
  const four = decidePreference({ serving: [1, 2, 3, 4].map((m) => s(-10, m)), candidate: [1, 2, 3, 4].map((m) => s(-10, m - 1.2)).map((x, i) => (i === 0 ? s(-10, 0.1) : x)), bpbBase: 2, bpbCandidate: 2 }, o);
  assert.equal(four.promote, false);
  assert.match(four.reason!, /away from the developer's text/);
});

test('one pair in four may flip when the mean margin holds: a count over a handful of pairs is noisy', () => {
  assert.deepEqual([1, 3, 4, 5, 8, 16].map(winSlack), [0, 0, 1, 1, 2, 4]);
  const serving = [5, 4, 6, 3, 0.5].map((m) => s(-10, m));
  const oneFlip = decidePreference({ serving, candidate: [7, 6, 8, 5, -0.2].map((m) => s(-10, m)), bpbBase: 2, bpbCandidate: 2 }, o);
  assert.equal(oneFlip.promote, true, oneFlip.reason);
  const twoFlips = decidePreference({ serving, candidate: [9, 9, 9, -0.1, -0.2].map((m) => s(-10, m)), bpbBase: 2, bpbCandidate: 2 }, o);
  assert.match(twoFlips.reason!, /fewer held-out episodes \(3 of 5\) than the serving adapter \(5\)/);
  // Under four pairs nothing may flip.
  assert.equal(decidePreference({ serving: [s(-10, 1), s(-10, 1)], candidate: [s(-10, 5), s(-10, -0.1)], bpbBase: 2, bpbCandidate: 2 }, o).promote, false);
});
