// The promotion gate's decisions and the schedule's: each refusal names its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, meanAbsDelta } from '../../../server/learn/gate';
import { decideSchedule, mergeSettings, DEFAULT_SETTINGS } from '../../../server/learn/schedule';

const ep = (preferred: boolean, before: number[], after: number[]) => ({ preferred, advantages: before.map(() => (preferred ? 1 : -1)), before, after });

test('a sound candidate that makes preferred responses more likely is promoted', () => {
  const d = decide({ drift: 0.1, batch: [ep(true, [-3, -2], [-2, -1.5]), ep(false, [-1], [-2])] }, { maxDrift: 0.5, tolerance: 0 });
  assert.equal(d.promote, true);
  assert.equal(d.preferredDelta, 0.75);
  assert.ok(d.weightedDelta > 0);
});

test('non-finite values, too much drift, or preferred responses made less likely are each refused with the reason', () => {
  const good = [ep(true, [-3], [-2])];
  const nan = decide({ invalid: 'tensor x holds a non-finite value (NaN)', drift: 0, batch: good });
  assert.equal(nan.promote, false);
  assert.match(nan.reason!, /not usable.*non-finite/);
  const far = decide({ drift: 0.9, batch: good }, { maxDrift: 0.5, tolerance: 0 });
  assert.equal(far.promote, false);
  assert.match(far.reason!, /drifts too far.*0\.900 > 0\.5/);
  const worse = decide({ drift: 0.1, batch: [ep(true, [-3, -2], [-3.2, -2]), ep(false, [-1], [-5])] }, { maxDrift: 0.5, tolerance: 0 });
  assert.equal(worse.promote, false);
  assert.match(worse.reason!, /preferred responses less likely/);
  assert.equal(decide({ drift: NaN, batch: good }).promote, false);
});

test('with only penalised responses the batch must move the way its advantages point', () => {
  assert.equal(decide({ drift: 0.1, batch: [ep(false, [-1, -1], [-1.5, -1.2])] }).promote, true);
  const d = decide({ drift: 0.1, batch: [ep(false, [-1, -1], [-0.5, -1])] });
  assert.equal(d.promote, false);
  assert.match(d.reason!, /against its advantages/);
});

test('meanAbsDelta averages over every token', () => {
  assert.equal(meanAbsDelta([[1, 2], [3]], [[0, 2], [5]]), 1);
  assert.equal(meanAbsDelta([], []), 0);
});

test('schedule: off and manual never train on their own; idle waits for a full batch and a quiet editor; continuous trains at minEpisodes', () => {
  const s = (over: object) => mergeSettings(DEFAULT_SETTINGS, over);
  assert.equal(decideSchedule({ settings: s({ schedule: 'off' }), pending: 99, idleMs: 1e9, busy: false }).kind, 'no');
  assert.equal(decideSchedule({ settings: s({ schedule: 'manual' }), pending: 99, idleMs: 1e9, busy: false }).kind, 'no');
  assert.equal(decideSchedule({ settings: s({}), pending: 15, idleMs: 1e9, busy: false }).kind, 'no');
  assert.deepEqual(decideSchedule({ settings: s({ idleSeconds: 30 }), pending: 16, idleMs: 10_000, busy: false }), { kind: 'wait', ms: 20_000 });
  assert.deepEqual(decideSchedule({ settings: s({}), pending: 16, idleMs: Infinity, busy: false }), { kind: 'train' });
  assert.equal(decideSchedule({ settings: s({}), pending: 16, idleMs: Infinity, busy: true }).kind, 'no');
  assert.deepEqual(decideSchedule({ settings: s({ schedule: 'continuous', minEpisodes: 4 }), pending: 4, idleMs: 0, busy: false }), { kind: 'train' });
  assert.equal(decideSchedule({ settings: s({ schedule: 'continuous', minEpisodes: 4 }), pending: 3, idleMs: 0, busy: false }).kind, 'no');
});

test('schedule: an automatic round estimated longer than maxRoundMinutes on this machine is held back, with why; 0 lifts the limit', () => {
  const s = (over: object) => mergeSettings(DEFAULT_SETTINGS, over);
  const long = decideSchedule({ settings: s({ maxRoundMinutes: 5 }), pending: 16, idleMs: Infinity, busy: false, estimatedMs: 7.7 * 60_000 });
  assert.equal(long.kind, 'no');
  assert.equal(long.kind === 'no' && long.why, 'a round would take about 8 min on this machine, over hindsight.training.maxRoundMinutes (5); "Train now" runs one anyway');
  assert.deepEqual(decideSchedule({ settings: s({ maxRoundMinutes: 5 }), pending: 16, idleMs: Infinity, busy: false, estimatedMs: 4 * 60_000 }), { kind: 'train' });
  assert.deepEqual(decideSchedule({ settings: s({ maxRoundMinutes: 0 }), pending: 16, idleMs: Infinity, busy: false, estimatedMs: 60 * 60_000 }), { kind: 'train' });
  assert.deepEqual(decideSchedule({ settings: s({ maxRoundMinutes: 5 }), pending: 16, idleMs: Infinity, busy: false }), { kind: 'train' }, 'no estimate yet: the first round runs');
  assert.equal(decideSchedule({ settings: s({ schedule: 'continuous', maxRoundMinutes: 1 }), pending: 4, idleMs: 0, busy: false, estimatedMs: 120_000 }).kind, 'no');
});

test('settings: bad values keep the previous value, numbers are clamped', () => {
  const m = mergeSettings(DEFAULT_SETTINGS, { schedule: 'sometimes' as never, batchSize: 0, learningRate: Number.NaN, maxDrift: 2, stepsPerRound: 2.6 });
  assert.equal(m.schedule, 'idle');
  assert.equal(m.batchSize, 1);
  assert.equal(m.learningRate, DEFAULT_SETTINGS.learningRate);
  assert.equal(m.maxDrift, 2);
  assert.equal(m.stepsPerRound, 3);
});
