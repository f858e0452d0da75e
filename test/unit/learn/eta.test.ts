// A round's time left: measured per pass once a pass finished, from the last round's cost per
// episode before that, unknown when neither is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etaMs, msPerEpisodePass, passesDone, roundPasses, PREPARE_PASSES } from '../../../server/learn/eta';

test('passes: preparing, each step, evaluating', () => {
  assert.equal(roundPasses(4), 9);
  assert.equal(passesDone(undefined), 0);
  assert.equal(passesDone({ state: 'training', step: 0, steps: 4 }), PREPARE_PASSES);
  assert.equal(passesDone({ state: 'training', step: 3, steps: 4 }), PREPARE_PASSES + 3);
  assert.equal(passesDone({ state: 'evaluating', step: 4, steps: 4 }), PREPARE_PASSES + 4);
});

test('time left: from this round once measurable, else from the last round, else unknown', () => {
  // 5 of 9 passes in 50 s: 10 s each, 4 left.
  assert.equal(etaMs({ elapsedMs: 50_000, done: 5, total: 9, episodes: 16 }), 40_000);
  // Nothing measured yet: the last round's 0.5 s per episode-pass × 16 episodes × 9 passes, minus the 2 s spent.
  assert.equal(etaMs({ elapsedMs: 2000, done: 0, total: 9, episodes: 16, msPerEpisodePass: 500 }), 70_000);
  assert.equal(etaMs({ elapsedMs: 2000, done: 0, total: 9, episodes: 16 }), undefined);
  assert.equal(etaMs({ elapsedMs: 99_000, done: 0, total: 9, episodes: 1, msPerEpisodePass: 1 }), 0, 'never negative');
  assert.equal(msPerEpisodePass(90_000, 10, 4), 1000);
  assert.equal(msPerEpisodePass(0, 10, 4), undefined);
  assert.equal(msPerEpisodePass(100, 0, 4), undefined);
});
