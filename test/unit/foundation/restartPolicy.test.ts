// RestartPolicy: exponential backoff inside a window, give up after maxCrashes, forget old crashes.
import test from 'node:test';
import assert from 'node:assert/strict';
import { RestartPolicy } from '../../../src/trainer/restartPolicy';

const opts = { baseDelayMs: 1000, maxDelayMs: 5000, maxCrashes: 4, windowMs: 60_000 };

test('backs off exponentially up to the cap, then gives up', () => {
  const p = new RestartPolicy(opts);
  assert.deepEqual(p.onCrash(0), { action: 'restart', delayMs: 1000, attempt: 1 });
  assert.deepEqual(p.onCrash(1), { action: 'restart', delayMs: 2000, attempt: 2 });
  assert.deepEqual(p.onCrash(2), { action: 'restart', delayMs: 4000, attempt: 3 });
  const last = p.onCrash(3);
  assert.equal(last.action, 'give-up');
  assert.match((last as { reason: string }).reason, /crashed 4 times within 1 min/);
});

test('caps the delay at maxDelayMs', () => {
  const p = new RestartPolicy({ ...opts, maxCrashes: 10 });
  let d = p.onCrash(0);
  for (let i = 1; i < 6; i++) d = p.onCrash(i);
  assert.deepEqual(d, { action: 'restart', delayMs: 5000, attempt: 6 });
});

test('crashes outside the window are forgotten', () => {
  const p = new RestartPolicy(opts);
  p.onCrash(0);
  p.onCrash(1000);
  p.onCrash(2000);
  // A minute later the three earlier crashes no longer count.
  assert.deepEqual(p.onCrash(70_000), { action: 'restart', delayMs: 1000, attempt: 1 });
});

test('reset starts over', () => {
  const p = new RestartPolicy(opts);
  p.onCrash(0);
  p.onCrash(1);
  p.reset();
  assert.deepEqual(p.onCrash(2), { action: 'restart', delayMs: 1000, attempt: 1 });
});

test('rejects a policy that could never restart', () => {
  assert.throws(() => new RestartPolicy({ ...opts, maxCrashes: 0 }), /maxCrashes must be >= 1/);
});
