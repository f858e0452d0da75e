// What "Roll back adapter" offers (newest first, base last, serving marked, invalid left out) and
// the messages after a rollback or "Train now".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { versionPicks, rollbackMessage, trainNowMessage } from '../../../src/learn/picks';

test('versions are offered newest first with the base model last; invalid folders are not offered', () => {
  const picks = versionPicks({
    serving: 2,
    versions: [
      { version: 0, valid: true },
      { version: 1, valid: true, episodes: 16, loss: 0.1234, parent: 0 },
      { version: 2, valid: true, episodes: 8, drift: 0.05, parent: 1 },
      { version: 3, valid: false, problem: 'adapter_model.safetensors: truncated' },
    ],
  });
  assert.deepEqual(picks.map((p) => [p.version, p.label, p.description]), [
    [2, 'Adapter v2', 'serving now'],
    [1, 'Adapter v1', ''],
    [0, 'Base model (no adapter)', ''],
  ]);
  assert.equal(picks[1].detail, '16 episodes · loss 0.123 · from base model');
});

test('messages say what happened', () => {
  assert.equal(rollbackMessage({ from: 3, to: 2 }), 'Hindsight: now serving the adapter v2 (was the adapter v3). New suggestions use it; training continues from it.');
  assert.equal(rollbackMessage({ from: 0, to: 0 }), 'Hindsight: already serving the base model.');
  assert.match(trainNowMessage({ started: false, reason: '1 usable settled episode(s); a round needs at least 4' }), /no training round started: 1 usable/);
  assert.match(trainNowMessage({ started: true, report: { at: 0, outcome: 'promoted', version: 4, episodes: 16, steps: 4, lossBefore: 0.5, lossAfter: 0.25, ms: 1 } }), /adapter v4 trained on 16 episodes and now serving \(loss 0\.500 → 0\.250\)/);
  assert.match(trainNowMessage({ started: true, report: { at: 0, outcome: 'rejected', reason: 'drifts too far', episodes: 16, steps: 4, ms: 1 } }), /was rejected: drifts too far\. The previous adapter stays/);
});
